using System.Reflection;
using System.Text.Json;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Mqtt;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Api;

/// <summary>The JSON API: health, series, points, devices, rejections and the live stream.</summary>
internal static class ApiEndpoints
{
    public const int DefaultRawLimit = 100_000;
    public const int MaxRawLimit = 1_000_000;
    public const int MaxBuckets = 100_000;

    /// <summary>Most buckets one device query may answer over all of the device's series.</summary>
    public const int MaxDeviceBuckets = 1_000_000;
    private static readonly long DefaultRangeMs = (long)TimeSpan.FromHours(24).TotalMilliseconds;

    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api");

        api.MapGet("/health", GetHealthAsync)
            .AllowAnonymous()
            .AddEndpointFilter(async (context, next) =>
            {
                // Monitoring may ask without logging in; it then learns whether the hub is up, nothing about its data.
                var health = await next(context);
                var http = context.HttpContext;
                return health is HealthResponse full && http.User.Identity?.IsAuthenticated != true && !http.RequestServices.GetRequiredService<HubOptions>().GuestViewOn
                    ? new PublicHealthResponse(full.Status, full.Version, full.UptimeSeconds)
                    : health;
            })
            .WithSummary("Hub status: uptime, MQTT clients, store size, ingest counters (without a login: status, version and uptime only).");

        api.MapGet("/series", ListSeriesAsync)
            .WithSummary("Every series with its unit, latest value, point count and typical reporting interval.");

        api.MapGet("/series/{device}/{metric}/summary", GetSummaryAsync)
            .WithSummary("Count, min, max, mean and sum of one series over [from, to) (default: the last 24 h).");

        api.MapGet("/series/{device}/{metric}/points", GetPointsAsync)
            .Produces<PointsResponse>()
            .WithSummary("Points of one series in [from, to): raw, or aggregated per step with agg=mean|min|max|sum|count.")
            .WithDescription("from/to: Unix ms, RFC 3339, 'now' or relative like -6h (defaults: the last 24 h). step: 10s, 1m, 1h or ms. limit: raw points cap (default 100000, max 1000000). format: json (default), csv, or binary (little-endian float64 times then values; metadata in X-Grid-* headers).");

        api.MapGet("/storage", GetStorageAsync)
            .WithSummary("The time-series engine: points and bytes per series and tier, bytes written per reading (SD-card wear), checkpoints, retention.");

        api.MapGet("/devices", (DeviceRegistry devices, RejectionLog rejections) =>
                devices.All().Select(d => new DeviceResponse(d.Device, d.Status?.ToString().ToLowerInvariant(), d.StatusSince, d.LastSeen, d.ReadingsAccepted, rejections.CountFor(d.Device), d.Agent, d.AgentReportedAt)).ToList())
            .WithSummary("Devices heard from, their reported status and when they were last seen.");

        api.MapPost("/storage/checkpoint", async (ChunkedTimeSeriesStore store) =>
            {
                await store.CheckpointAsync();
                return Results.NoContent();
            })
            .WithSummary("Writes everything buffered to the chunk store now and empties the log (e.g. before copying the data folder).");

        api.MapGet("/devices/{device}/points", GetDevicePointsAsync)
            .Produces<DevicePointsResponse>()
            .WithSummary("Aggregates of every series of one device in one answer: step and agg as for one series (step required).");

        api.MapGet("/ingest/rejections", GetRejections)
            .WithSummary("Rejection counts per device and reason, and the most recent rejections (newest first, up to 1000).");

        api.MapGet("/live", StreamLiveAsync)
            .WithSummary("Server-Sent Events: one 'reading' event per stored reading. Filter with ?series=<device>/<metric> or ?device=<device>.")
            .ExcludeFromDescription();
    }

    private static async Task<HealthResponse> GetHealthAsync(
        ITimeSeriesStore store,
        IngestService ingest,
        LiveFeed live,
        MqttServer mqtt,
        MqttNetLogBridge mqttLog,
        Security.ConnectThrottle throttle,
        RetainedQuota retained,
        HubEndpoints endpoints,
        IOptions<HubOptions> options,
        Derived.DerivedWeather derived,
        TimeProvider time)
    {
        var stats = store.GetStatistics();
        var clients = mqtt.IsStarted ? (await mqtt.GetClientsAsync()).Count : 0;
        var version = typeof(ApiEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var state = stats.Condition switch
        {
            StoreCondition.Degraded => "degraded",
            StoreCondition.Faulted => "faulted",
            _ => "ok",
        };
        return new HealthResponse(
            stats.Condition == StoreCondition.Ok ? "ok" : "degraded",
            version,
            Math.Round((time.GetUtcNow() - endpoints.StartedAt).TotalSeconds, 1),
            new MqttHealth(endpoints.Mqtt?.ToString(), clients, mqttLog.ClientProtocolErrors)
            {
                RefusedConnects = throttle.Failures,
                ThrottledConnects = throttle.Throttled,
                RetainedMessages = retained.Count,
                RetainedRefused = retained.Refused,
            },
            new StoreHealth(stats.SeriesCount, stats.PointCount, stats.BytesOnDisk, stats.Commits, options.Value.DataDir)
            {
                State = state,
                Problem = stats.Problem,
                LogFailures = stats.LogFailures,
                Recoveries = stats.Recoveries,
            },
            new IngestHealth(ingest.Messages, ingest.ReadingsStored, ingest.Duplicates, ingest.ReadingsRejected) { Queued = ingest.Queued, QueueWaits = ingest.QueueWaits },
            live.ListenerCount,
            new DerivedHealth(derived.Derived, derived.Pending, derived.Skipped, derived.ImplausibleRainSteps))
        {
            Memory = CurrentMemory(),
            Problem = stats.Problem,
            LiveListenersDropped = live.ListenersDropped,
            LiveListenersRefused = live.ListenersRefused,
        };
    }

    private static MemoryHealth CurrentMemory()
    {
        const double Mb = 1024 * 1024;
        var gc = GC.GetGCMemoryInfo();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new MemoryHealth(Math.Round(process.WorkingSet64 / Mb, 1), Math.Round(gc.HeapSizeBytes / Mb, 1), Math.Round(gc.TotalCommittedBytes / Mb, 1));
    }

    private static async Task<StorageResponse> GetStorageAsync(ChunkedTimeSeriesStore store, HubOptions options, IConfiguration configuration, CancellationToken cancellationToken)
    {
        var stats = store.GetStatistics();
        var series = await store.DescribeAsync(cancellationToken);
        var written = ProcessBytesWritten();
        var appended = Math.Max(1, stats.ReadingsAppended);
        static double? Days(TimeSpan? span) => span?.TotalDays;
        return new StorageResponse(
            stats.PointCount,
            stats.BytesOnDisk,
            stats.PointCount > 0 ? Math.Round((double)stats.BytesOnDisk / stats.PointCount, 2) : 0,
            stats.ReadingsAppended,
            stats.LogBytesWritten,
            stats.ChunkBytesWritten,
            written,
            stats.ReadingsAppended > 0 ? Math.Round((double)(written ?? stats.LogBytesWritten + stats.ChunkBytesWritten) / appended, 2) : null,
            stats.Checkpoints,
            stats.LastCheckpoint,
            stats.LogBytes,
            stats.BufferedBuckets,
            stats.DirtyBuckets,
            stats.DroppedChunks,
            stats.DroppedPoints,
            HubConfiguration.RetentionRules(configuration, options).Select(r => new RetentionResponse(r.Pattern, Days(r.Raw), Days(r.Minute), Days(r.Hour))).ToList(),
            series.Select(s => new SeriesStorageResponse(s.Key.Id, s.Chunks, s.RawPoints, s.RawBytes, s.RawPoints > 0 ? Math.Round((double)s.RawBytes / s.RawPoints, 3) : 0, s.MinuteRollups, s.HourRollups)).ToList())
        {
            Origin = store.Origin,
            OpenPoints = stats.OpenPoints,
        };
    }

    /// <summary>What this process has written to storage devices (Linux /proc/self/io), the figure that wears SD cards.</summary>
    private static long? ProcessBytesWritten()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/io"))
            {
                if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(12).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    private static async Task<List<SeriesResponse>> ListSeriesAsync(ITimeSeriesStore store, SeriesIntervals intervals, CancellationToken cancellationToken)
    {
        var list = new List<SeriesResponse>();
        foreach (var s in store.ListSeries())
        {
            list.Add(new SeriesResponse(
                s.Key.Id,
                s.Key.Device,
                s.Key.Metric,
                s.Unit,
                new LatestPoint(s.LatestMs, s.LatestValue, DateTimeOffset.FromUnixTimeMilliseconds(s.LatestMs)),
                s.PointCount,
                s.FirstMs,
                await intervals.GetAsync(s, cancellationToken)));
        }

        return list;
    }

    /// <summary>Resolves the series and the [from, to) range shared by the points and summary endpoints.</summary>
    private static IResult? TryResolve(string device, string metric, string? from, string? to, ITimeSeriesStore store, TimeProvider time, out SeriesInfo info, out long fromMs, out long toMs)
    {
        var key = new SeriesKey(device, metric);
        fromMs = toMs = 0;
        if (!store.TryGetSeries(key, out info))
            return Results.NotFound(new ErrorResponse($"no series '{key.Id}'; GET /api/series lists them"));

        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        toMs = nowMs;
        string? error = null;
        if (to is not null && !QueryParameters.TryParseInstant(to, nowMs, out toMs, out error))
            return BadRequest("to: " + error);
        if (from is null)
            fromMs = toMs - DefaultRangeMs;
        else if (!QueryParameters.TryParseInstant(from, nowMs, out fromMs, out error))
            return BadRequest("from: " + error);
        if (fromMs >= toMs)
            return BadRequest($"from ({fromMs}) must be before to ({toMs})");
        return null;
    }

    private static async Task<IResult> GetSummaryAsync(string device, string metric, string? from, string? to, ITimeSeriesStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (TryResolve(device, metric, from, to, store, time, out var info, out var fromMs, out var toMs) is { } problem)
            return problem;

        // A step as long as the range: at most two buckets (the range may straddle a multiple of it), combined here.
        var buckets = await store.ReadAggregatedAsync(info.Key, fromMs, toMs, toMs - fromMs, cancellationToken);
        if (buckets.Count == 0)
            return Results.Ok(new SummaryResponse(info.Key.Id, info.Unit, fromMs, toMs, 0, null, null, null, null));
        var count = buckets.Sum(b => b.Count);
        var sum = buckets.Sum(b => b.Sum);
        return Results.Ok(new SummaryResponse(info.Key.Id, info.Unit, fromMs, toMs, count, buckets.Min(b => b.Min), buckets.Max(b => b.Max), sum / count, sum));
    }

    private static async Task<IResult> GetPointsAsync(
        string device,
        string metric,
        string? from,
        string? to,
        string? step,
        string? agg,
        int? limit,
        string? format,
        ITimeSeriesStore store,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (TryResolve(device, metric, from, to, store, time, out var info, out var fromMs, out var toMs) is { } problem)
            return problem;
        var key = info.Key;
        string? error;
        if (format is not null and not "json" and not "csv" and not "binary")
            return BadRequest($"format: '{format}' is not json, csv or binary");

        if (step is null)
        {
            if (agg is not null)
                return BadRequest("agg needs a step, e.g. step=1m&agg=mean");
            var cap = limit ?? DefaultRawLimit;
            if (cap is < 1 or > MaxRawLimit)
                return BadRequest($"limit must be between 1 and {MaxRawLimit}");
            var raw = await store.ReadColumnsAsync(key, fromMs, toMs, cap + 1, cancellationToken);
            var truncated = raw.Count > cap;
            var times = raw.Times;
            var values = raw.Values;
            if (truncated)
            {
                Array.Resize(ref times, cap);
                Array.Resize(ref values, cap);
            }

            return Answer(new PointSet(key.Id, info.Unit, fromMs, toMs, null, null, truncated, times, values), format);
        }

        if (!QueryParameters.TryParseDuration(step, out var stepMs, out error))
            return BadRequest("step: " + error);
        var aggregate = Aggregate.Mean;
        if (agg is not null && !QueryParameters.TryParseAggregate(agg, out aggregate, out error))
            return BadRequest("agg: " + error);
        if (QueryParameters.StepCount(fromMs, toMs, stepMs) > MaxBuckets)
            return BadRequest($"the range holds more than {MaxBuckets} steps of {step}; use a larger step or a shorter range");

        var buckets = await store.ReadAggregatedAsync(key, fromMs, toMs, stepMs, cancellationToken);
        var aggregated = new PointSet(
            key.Id,
            info.Unit,
            fromMs,
            toMs,
            stepMs,
            aggregate.ToString().ToLowerInvariant(),
            false,
            buckets.Select(b => b.BucketStartMs).ToArray(),
            buckets.Select(b => Pick(b, aggregate)).ToArray());
        return Answer(aggregated, format);
    }

    private static IResult Answer(PointSet points, string? format) => format switch
    {
        "csv" => new PointsCsvResult(points),
        "binary" => new PointsBinaryResult(points),
        _ => new PointsJsonResult(points),
    };

    private static async Task<IResult> GetDevicePointsAsync(string device, string? from, string? to, string? step, string? agg, ITimeSeriesStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var series = store.ListSeries().Where(s => s.Key.Device == device).ToList();
        if (series.Count == 0)
            return Results.NotFound(new ErrorResponse($"no series of device '{device}'; GET /api/series lists them"));
        if (TryResolve(device, series[0].Key.Metric, from, to, store, time, out _, out var fromMs, out var toMs) is { } problem)
            return problem;
        if (step is null)
            return BadRequest("step is required here, e.g. step=1m&agg=mean");
        if (!QueryParameters.TryParseDuration(step, out var stepMs, out var error))
            return BadRequest("step: " + error);
        var aggregate = Aggregate.Mean;
        if (agg is not null && !QueryParameters.TryParseAggregate(agg, out aggregate, out error))
            return BadRequest("agg: " + error);
        var steps = QueryParameters.StepCount(fromMs, toMs, stepMs);
        if (steps > MaxBuckets)
            return BadRequest($"the range holds more than {MaxBuckets} steps of {step}; use a larger step or a shorter range");
        if (steps * series.Count > MaxDeviceBuckets)
            return BadRequest($"the range holds {steps} steps of {step} for each of the device's {series.Count} series, more than {MaxDeviceBuckets} in all; use a larger step or a shorter range");
        var all = await store.ReadAggregatedAsync(series.Select(s => s.Key).ToList(), fromMs, toMs, stepMs, cancellationToken);
        return new DevicePointsJsonResult(device, fromMs, toMs, stepMs, aggregate.ToString().ToLowerInvariant(), all, b => Pick(b, aggregate));
    }

    private static double Pick(AggregatePoint b, Aggregate aggregate) => aggregate switch
    {
        Aggregate.Min => b.Min,
        Aggregate.Max => b.Max,
        Aggregate.Sum => b.Sum,
        Aggregate.Count => b.Count,
        _ => b.Mean,
    };

    private static IResult GetRejections(string? device, int? limit, RejectionLog rejections)
    {
        var cap = limit ?? RejectionLog.DefaultCapacity;
        if (cap is < 1 or > RejectionLog.DefaultCapacity)
            return BadRequest($"limit must be between 1 and {RejectionLog.DefaultCapacity}");
        var counts = rejections.Counts()
            .Where(c => device is null || c.Device == device)
            .Select(c => new RejectionCount(c.Device, c.Reason, c.Count))
            .ToList();
        return Results.Ok(new RejectionsResponse(counts.Sum(c => c.Count), counts, rejections.Recent(device, cap)));
    }

    private static async Task StreamLiveAsync(HttpContext context, string? series, string? device, LiveFeed live, IOptions<JsonOptions> json, TimeProvider time, IHostApplicationLifetime lifetime)
    {
        Func<Reading, bool>? filter = null;
        if (series is not null)
        {
            if (!SeriesKey.TryParse(series, out var key))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new ErrorResponse($"series '{series}' is not <device>/<metric>"));
                return;
            }

            filter = r => r.Series == key;
        }
        else if (device is not null)
        {
            filter = r => r.Series.Device == device;
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "(unknown)";
        using var listener = live.TrySubscribe(address, filter, context.Abort, out var refusal);
        if (listener is null)
        {
            var tooMany = refusal == LiveRefusal.TooManyListeners;
            context.Response.StatusCode = tooMany ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = "30";
            await context.Response.WriteAsJsonAsync(new ErrorResponse(tooMany
                ? $"The hub already serves {live.Options.MaxListeners} live streams, the most it allows (--max-live-listeners); close a dashboard tab or try again later."
                : $"{address} already has {live.Options.MaxListenersPerAddress} live streams open, the most one address may have (--max-live-listeners-per-address); close a dashboard tab first."));
            return;
        }

        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";

        // Streams never end by themselves: they end with the client or when the hub stops.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var aborted = ended.Token;
        await context.Response.WriteAsync("retry: 2000\n: connected\n\n", aborted);
        await context.Response.Body.FlushAsync(aborted);
        var options = json.Value.SerializerOptions;
        var reader = listener;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15), time);
                using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(aborted, timeout.Token);
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(heartbeat.Token);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    continue;
                }

                if (!more)
                    break;
                while (reader.TryRead(out var reading))
                {
                    var payload = JsonSerializer.Serialize(
                        new LiveReading(reading.Series.Id, reading.Series.Device, reading.Series.Metric, reading.TimestampMs, reading.Value, reading.Unit),
                        options);
                    await context.Response.WriteAsync("event: reading\ndata: " + payload + "\n\n", aborted);
                }

                await context.Response.Body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The browser went away, the hub is stopping, or the listener fell behind and was dropped (aborted).
        }
        catch (IOException) when (aborted.IsCancellationRequested)
        {
            // The connection was aborted in the middle of a write.
        }
    }

    private static IResult BadRequest(string message) => Results.BadRequest(new ErrorResponse(message));
}
