using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Grid.Edge.Protocol.Payloads;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// W5 (ingest + storage) and W6 (queries) of DESIGN.md section 7: the hub (MQTT batches, QoS 1, stored durably)
/// against Debian's InfluxDB (line protocol over HTTP, 5000-line batches) in the same run, 1000 series at 1 Hz,
/// three value shapes; servers on core 0, this tool on core 1.
/// </summary>
internal static class StorageCommand
{
    private const int Series = 1000;
    private static readonly string[] Names = Enumerable.Range(0, Series).Select(s => $"s{s:D4}").ToArray();
    private const int InFlight = 4;
    private static readonly string[] Shapes = ["constant", "1-decimal walk", "random float64"];

    private const int ColumnSeries = 100;
    private const int ColumnSeconds = 50;

    public static async Task<int> RunAsync(string hubDll, int pointsPerSeries, string? onlyShape = null, int batchSize = 1000, bool columns = false, int runs = 1)
    {
        if (!File.Exists("/usr/bin/influxd"))
        {
            Console.Error.WriteLine("error: /usr/bin/influxd is missing: apt-get install influxdb");
            return 1;
        }

        var t0 = DateTimeOffset.UtcNow.AddDays(-2).ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        Console.WriteLine("Baseline: " + ServerVersion.Influx());
        Console.WriteLine(columns
            ? $"W5/W6: {Series} series x {pointsPerSeries} points at 1 Hz per shape ({Series * pointsPerSeries:N0} points); hub binary columns messages and InfluxDB line-protocol batches of the same {ColumnSeries} series x {ColumnSeconds} s; servers on core 0, load on core 1; {runs} run(s) per shape, the median shown"
            : $"W5/W6: {Series} series x {pointsPerSeries} points at 1 Hz per shape ({Series * pointsPerSeries:N0} points); hub batches of {Math.Max(1, batchSize / Series) * Series} readings, InfluxDB batches of 5000 lines; servers on core 0, load on core 1; {runs} run(s) per shape, the median shown");
        var rows = new List<string>();
        var queries = new List<string>();
        var loaded = new List<string>();
        for (var shape = 0; shape < Shapes.Length; shape++)
        {
            if (onlyShape is not null && !Shapes[shape].Contains(onlyShape, StringComparison.Ordinal))
                continue;
            var values = Values(shape, pointsPerSeries);
            var results = new List<ShapeRun>();
            for (var run = 0; run < runs; run++)
            {
                // Each run starts both servers afresh on empty folders; the queries run after the last one.
                var result = await RunShapeAsync(hubDll, values, t0, batchSize, columns, (shape + run) % 2 == 0, shape == 1 && run == runs - 1 ? (queries, loaded) : null);
                if (result is null)
                    return 1;
                results.Add(result);
                Console.WriteLine($"  {Shapes[shape]}, run {run + 1}: {result.Row}");
            }

            var ordered = results.OrderBy(r => r.Ratio).ToList();
            rows.Add($"| {Shapes[shape]} {ordered[ordered.Count / 2].Row}" + (runs > 1 ? $" ingest ratio over the runs {ordered[0].Ratio:0.00}-{ordered[^1].Ratio:0.00}x |" : ""));
        }

        Console.WriteLine();
        Console.WriteLine("| W5 shape | InfluxDB points/s | hub points/s | hub / InfluxDB | the same with the hub's final checkpoint | InfluxDB B/point on disk | hub B/point on disk | hub / InfluxDB | InfluxDB B written/point | hub B written/point | hub RSS after ingest / at rest |" + (runs > 1 ? " range |" : ""));
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + (runs > 1 ? "---|" : ""));
        rows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("| W6 query (idle servers, 20 runs) | InfluxDB p50 / p99 | hub p50 / p99 | hub / InfluxDB (p50) |");
        Console.WriteLine("|---|---:|---:|---:|");
        queries.ForEach(Console.WriteLine);
        if (loaded.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("| W6 query while W5 ingest runs at half speed (each server loaded alone, 20 runs) | InfluxDB p50 / p99 | hub p50 / p99 | hub / InfluxDB (p50) |");
            Console.WriteLine("|---|---:|---:|---:|");
            loaded.ForEach(Console.WriteLine);
        }

        return 0;
    }

    /// <summary>One shape's ingest into both servers, started afresh; null when batches were refused.</summary>
    private static async Task<ShapeRun?> RunShapeAsync(string hubDll, double[][] values, long t0, int batchSize, bool columns, bool hubFirst, (List<string> Idle, List<string> Loaded)? queries)
    {
        // Batches past the default 64 KiB payload limit need the hub told to take them.
        await using var hub = batchSize > Series
            ? await BrokerUnderTest.StartHubAsync(hubDll, 0, "--max-payload-bytes", (batchSize * 64).ToString(CultureInfo.InvariantCulture))
            : await BrokerUnderTest.StartHubAsync(hubDll, 0);
        await using var influx = await InfluxUnderTest.StartAsync(0);
        // Alternate which server takes the load first, so that neither always gets the other's leftover work.
        IngestRun hubRun, influxRun;
        TimeSpan checkpoint;
        if (hubFirst)
        {
            (hubRun, checkpoint) = await IngestHubAndCheckpointAsync(hub, values, t0, batchSize, columns);
            influxRun = await IngestInfluxAsync(influx, values, t0, columns);
        }
        else
        {
            influxRun = await IngestInfluxAsync(influx, values, t0, columns);
            (hubRun, checkpoint) = await IngestHubAndCheckpointAsync(hub, values, t0, batchSize, columns);
        }

        if (hubRun.Failures > 0 || influxRun.Failures > 0)
        {
            Console.Error.WriteLine($"error: {hubRun.Failures} hub batches and {influxRun.Failures} InfluxDB batches were refused; the figures would be meaningless");
            return null;
        }

        var hubDisk = await SettledHubBytesAsync(hub);
        var influxDisk = await SettledInfluxBytesAsync(influx);
        var points = (double)values.Length * values[0].Length;
        var hubRate = hubRun.TimedPoints / hubRun.Elapsed.TotalSeconds;
        var influxRate = influxRun.TimedPoints / influxRun.Elapsed.TotalSeconds;
        var hubRateWithCheckpoint = hubRun.TimedPoints / (hubRun.Elapsed + checkpoint).TotalSeconds;
        Console.WriteLine($"  {(hubFirst ? "hub" : "InfluxDB")} first; the hub's checkpoint right after its ingest took {checkpoint.TotalMilliseconds:N0} ms: {hubRateWithCheckpoint:N0} points/s with it in the timed window ({hubRateWithCheckpoint / influxRate:0.00}x)");
        Console.WriteLine($"  from a cold start (the warm-up included): hub {points / hubRun.ColdElapsed.TotalSeconds:N0} points/s, InfluxDB {points / influxRun.ColdElapsed.TotalSeconds:N0} points/s ({points / hubRun.ColdElapsed.TotalSeconds / (points / influxRun.ColdElapsed.TotalSeconds):0.00}x)");
        var hubWritten = WriteBytes(hub.ProcessId) / points;
        var influxWritten = WriteBytes(influx.ProcessId) / points;
        Console.WriteLine("  hub memory after ingest: " + await MemoryAsync(hub));
        var rssAfterIngest = RssMb(hub.ProcessId);
        var rssAtRest = await RestingRssMbAsync(hub);
        Console.WriteLine("  hub memory at rest: " + await MemoryAsync(hub));
        if (queries is var (idle, underLoad))
        {
            idle.AddRange(await QueriesAsync(hub, influx, t0, values[0].Length, null));
            underLoad.AddRange(await QueriesAsync(hub, influx, t0, values[0].Length, (hubRate / 2, influxRate / 2)));
        }

        return new ShapeRun(
            hubRate / influxRate,
            $"| {influxRate:N0} | {hubRate:N0} | {hubRate / influxRate:0.00}x | {hubRateWithCheckpoint / influxRate:0.00}x | {influxDisk / points:0.00} | {hubDisk / points:0.00} | {hubDisk / (double)influxDisk:0.00}x | {influxWritten:0.0} | {hubWritten:0.0} | {rssAfterIngest:N0} / {rssAtRest:N0} MB |");
    }

    /// <summary>One run's ingest ratio and its table cells (without the shape).</summary>
    private sealed record ShapeRun(double Ratio, string Row);

    private static double[][] Values(int shape, int points)
    {
        var values = new double[Series][];
        for (var s = 0; s < Series; s++)
        {
            var random = new Random(s * 7919 + shape);
            var k = 200 + random.Next(-50, 50);
            values[s] = new double[points];
            for (var i = 0; i < points; i++)
            {
                k += random.Next(-1, 2);
                values[s][i] = shape switch
                {
                    0 => 21.5,
                    1 => k / 10.0,
                    _ => random.NextDouble() * 100,
                };
            }
        }

        return values;
    }

    /// <summary>JSON batches: each message carries whole seconds of all series, batchSize / 1000 of them.</summary>
    private static (string Topic, List<byte[]> Payloads) JsonPayloads(double[][] values, long t0, int batchSize)
    {
        var seconds = Math.Max(1, batchSize / Series);
        var payloads = Enumerable.Range(0, (values[0].Length + seconds - 1) / seconds).Select(m =>
        {
            using var batch = new JsonBatchWriter(expectedReadings: seconds * Series);
            for (var i = m * seconds; i < Math.Min(values[0].Length, (m + 1) * seconds); i++)
            {
                for (var s = 0; s < Series; s++)
                    batch.TryAdd(Names[s], values[s][i], t0 + i * 1000L);
            }

            return batch.ToArray();
        }).ToList();
        return ("grid/bench/batch", payloads);
    }

    /// <summary>Binary columns: each message carries 50 s of 100 series, as a device flushing its backlog would.</summary>
    private static (string Topic, List<byte[]> Payloads) ColumnPayloads(double[][] values, long t0)
    {
        var payloads = new List<byte[]>();
        foreach (var (first, from, to) in ColumnGroups(values[0].Length))
        {
            var writer = new ColumnBatchWriter();
            var times = Enumerable.Range(from, to - from).Select(i => t0 + i * 1000L).ToArray();
            for (var s = first; s < first + ColumnSeries; s++)
                writer.Add($"s{s:D4}", "", times, values[s].AsSpan(from, to - from));
            payloads.Add(writer.ToArray());
        }

        return ("grid/bench/columns", payloads);
    }

    /// <summary>The (first series, first second, end second) of each columns message, oldest seconds first.</summary>
    private static IEnumerable<(int FirstSeries, int From, int To)> ColumnGroups(int points)
    {
        for (var from = 0; from < points; from += ColumnSeconds)
        {
            for (var first = 0; first < Series; first += ColumnSeries)
                yield return (first, from, Math.Min(points, from + ColumnSeconds));
        }
    }

    /// <summary>
    /// The hub's ingest, then its checkpoint timed on its own: an acknowledged point is durable in the log, as one
    /// InfluxDB answered is in its WAL, but the hub's chunks are written only by the checkpoint, so its cost is
    /// reported beside the rate.
    /// </summary>
    private static async Task<(IngestRun Run, TimeSpan Checkpoint)> IngestHubAndCheckpointAsync(BrokerUnderTest hub, double[][] values, long t0, int batchSize, bool columns)
    {
        var run = await IngestHubAsync(hub, columns ? ColumnPayloads(values, t0) : JsonPayloads(values, t0, batchSize), columns ? ColumnSeries * ColumnSeconds : Math.Max(1, batchSize / Series) * Series);
        using var http = hub.NewHttpClient(TimeSpan.FromMinutes(5));
        var watch = Stopwatch.StartNew();
        (await http.PostAsync("/api/storage/checkpoint", null)).EnsureSuccessStatusCode();
        return (run, watch.Elapsed);
    }

    private static async Task<IngestRun> IngestHubAsync(BrokerUnderTest hub, (string Topic, List<byte[]> Payloads) messages, int pointsPerMessage)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId("w5").WithTimeout(TimeSpan.FromSeconds(60)).Build());
        var (topic, payloads) = messages;
        return await SendAllAsync(payloads.Count, pointsPerMessage, async i =>
        {
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payloads[i]).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            return result.IsSuccess;
        });
    }

    private static async Task<IngestRun> IngestInfluxAsync(InfluxUnderTest influx, double[][] values, long t0, bool columns)
    {
        using var http = new HttpClient { BaseAddress = influx.Http, Timeout = TimeSpan.FromMinutes(5) };
        var lines = columns ? ColumnGroups(values[0].Length).Select(group =>
        {
            var text = new StringBuilder();
            for (var s = group.FirstSeries; s < group.FirstSeries + ColumnSeries; s++)
            {
                for (var i = group.From; i < group.To; i++)
                    text.Append(CultureInfo.InvariantCulture, $"bench,s=s{s:D4} v={values[s][i].ToString("R", CultureInfo.InvariantCulture)} {t0 + i * 1000L}\n");
            }

            return text.ToString();
        }).ToList() : [];
        var batch = new StringBuilder();
        var count = 0;
        for (var i = 0; i < (columns ? 0 : values[0].Length); i++)
        {
            for (var s = 0; s < Series; s++)
            {
                batch.Append(CultureInfo.InvariantCulture, $"bench,s=s{s:D4} v={values[s][i].ToString("R", CultureInfo.InvariantCulture)} {t0 + i * 1000L}\n");
                if (++count == 5000)
                {
                    lines.Add(batch.ToString());
                    batch.Clear();
                    count = 0;
                }
            }
        }

        if (count > 0)
            lines.Add(batch.ToString());
        return await SendAllAsync(lines.Count, columns ? ColumnSeries * ColumnSeconds : 5000, async i =>
        {
            using var response = await http.PostAsync("/write?db=bench&precision=ms", new StringContent(lines[i]));
            return response.IsSuccessStatusCode;
        });
    }

    /// <summary>
    /// Sends every message, <see cref="InFlight"/> at a time. The first twentieth warms the server up (the hub's code
    /// is compiled on first use; InfluxDB's ahead of time) and is timed apart: the rate is of the rest.
    /// </summary>
    private static async Task<IngestRun> SendAllAsync(int count, int pointsPerMessage, Func<int, Task<bool>> send)
    {
        var warmup = Math.Max(1, count / 20);
        var failures = 0;
        using var window = new SemaphoreSlim(InFlight);
        async Task SendRangeAsync(int from, int to)
        {
            var tasks = new List<Task>();
            for (var i = from; i < to; i++)
            {
                await window.WaitAsync();
                var index = i;
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        if (!await send(index))
                            Interlocked.Increment(ref failures);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or MQTTnet.Exceptions.MqttCommunicationException or TaskCanceledException)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    finally
                    {
                        window.Release();
                    }
                }));
            }

            await Task.WhenAll(tasks);
        }

        var cold = Stopwatch.StartNew();
        await SendRangeAsync(0, warmup);
        var warm = Stopwatch.StartNew();
        await SendRangeAsync(warmup, count);
        return new IngestRun(warm.Elapsed, cold.Elapsed, (count - warmup) * (long)pointsPerMessage, failures);
    }

    /// <summary>One server's ingest: the time for the messages after the warm-up, and for all of them.</summary>
    private sealed record IngestRun(TimeSpan Elapsed, TimeSpan ColdElapsed, long TimedPoints, int Failures);

    /// <summary>The store's size once everything is checkpointed (log empty, no unwritten buckets).</summary>
    private static async Task<long> SettledHubBytesAsync(BrokerUnderTest hub)
    {
        using var http = hub.NewHttpClient();
        (await http.PostAsync("/api/storage/checkpoint", null)).EnsureSuccessStatusCode();
        for (var i = 0; i < 300; i++)
        {
            using var storage = await http.GetFromJsonAsync<JsonDocument>("/api/storage");
            var root = storage!.RootElement;
            if (root.GetProperty("dirtyBuckets").GetInt32() == 0 && root.GetProperty("logBytes").GetInt64() == 0)
            {
                var store = Path.Combine(hub.DataDirectory, "store");
                var largest = root.GetProperty("series").EnumerateArray().FirstOrDefault();
                Console.WriteLine("  hub store files: " + string.Join(", ", Directory.GetFiles(store).Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length:N0} B"))
                    + (largest.ValueKind == JsonValueKind.Object ? $"; largest series {largest.GetProperty("id").GetString()}: {largest.GetProperty("chunks").GetInt64()} chunk parts, {largest.GetProperty("rawBytes").GetInt64():N0} B for {largest.GetProperty("rawPoints").GetInt64():N0} points" : ""));
                return FolderBytes(store);
            }
            await Task.Delay(100);
        }

        throw new TimeoutException("the hub did not settle");
    }

    /// <summary>InfluxDB's data folder once its cache is snapshotted and compacted (the WAL folder counted too).</summary>
    private static async Task<long> SettledInfluxBytesAsync(InfluxUnderTest influx)
    {
        long last = -1;
        var stable = 0;
        for (var i = 0; i < 120; i++)
        {
            await Task.Delay(500);
            var wal = FolderBytes(Path.Combine(influx.Directory, "wal"));
            var size = FolderBytes(Path.Combine(influx.Directory, "data")) + wal;
            stable = size == last && wal < 64 * 1024 ? stable + 1 : 0;
            if (stable >= 4)
                return size;
            last = size;
        }

        return last;
    }

    /// <summary>Disk blocks a folder occupies (du): preallocated, never-written file space does not count.</summary>
    private static long FolderBytes(string path)
    {
        if (!Directory.Exists(path))
            return 0;
        var start = new ProcessStartInfo("du") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-s", "-B1", path })
            start.ArgumentList.Add(arg);
        using var du = Process.Start(start)!;
        var output = du.StandardOutput.ReadToEnd();
        du.WaitForExit();
        return long.Parse(output.Split('\t')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Resident memory once the hub has nothing left to do with the ingest: a second checkpoint lets the buckets
    /// written by the first leave memory, and the runtime gets ten seconds to give back what it no longer uses.
    /// </summary>
    private static async Task<long> RestingRssMbAsync(BrokerUnderTest hub)
    {
        using var http = hub.NewHttpClient();
        (await http.PostAsync("/api/storage/checkpoint", null)).EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(10));
        return RssMb(hub.ProcessId);
    }

    private static async Task<string> MemoryAsync(BrokerUnderTest hub)
    {
        using var http = hub.NewHttpClient();
        using var health = await http.GetFromJsonAsync<JsonDocument>("/api/health");
        return health!.RootElement.GetProperty("memory").ToString();
    }

    private static long WriteBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/io"))
        {
            if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(12).Trim(), CultureInfo.InvariantCulture);
        }

        return 0;
    }

    private static long RssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }

        return 0;
    }

    private static async Task<List<string>> QueriesAsync(BrokerUnderTest hub, InfluxUnderTest influx, long t0, int pointsPerSeries, (double Hub, double Influx)? load)
    {
        // One 1 Hz series over 24 h (86,400 points) in each (written once, before the idle queries).
        var day = t0 - 86_400_000L;
        if (load is null)
            await WriteDayAsync(hub, influx, day);
        using var influxHttp = new HttpClient { BaseAddress = influx.Http };
        using var hubHttp = hub.NewHttpClient();
        var windowEnd = t0 + pointsPerSeries * 1000L;
        var next = windowEnd + (load is null ? 0 : 10_000_000L); // load writes after everything queried
        Func<Func<Task<(double, double)>>, Task<(double, double)>> underHubLoad = measure => load is null ? measure() : WhileLoadedAsync(token => HubLoadAsync(hub, load.Value.Hub, next, token), measure);
        Func<Func<Task<(double, double)>>, Task<(double, double)>> underInfluxLoad = measure => load is null ? measure() : WhileLoadedAsync(token => InfluxLoadAsync(influx, load.Value.Influx, next, token), measure);
        var minutes = pointsPerSeries / 60 * 60_000L;
        var wholeMinutes = (int)(minutes / 60_000);
        var raggedMinutes = (pointsPerSeries + 59) / 60;
        var influxMeans = $"/query?db=bench&epoch=ms&q={Uri.EscapeDataString($"SELECT mean(v) FROM bench WHERE time >= {t0}ms AND time < {t0 + minutes}ms GROUP BY time(1m), s")}";
        var influxMeansRagged = $"/query?db=bench&epoch=ms&q={Uri.EscapeDataString($"SELECT mean(v) FROM bench WHERE time >= {t0}ms AND time < {windowEnd}ms GROUP BY time(1m), s")}";
        var influxDay = await underInfluxLoad(() => TimeAsync(
            () => influxHttp.GetStringAsync($"/query?db=bench&epoch=ms&q={Uri.EscapeDataString($"SELECT v FROM bench24 WHERE time >= {day}ms AND time < {day + 86_400_000L}ms")}"),
            body => CheckInflux(body, 1, 86_400)));
        return
        [
            Row(
                "24 h raw read of one 1 Hz series (86,400 points), hub binary columns",
                influxDay,
                await underHubLoad(() => TimeAsync(
                    () => hubHttp.GetByteArrayAsync($"/api/series/bench24/day/points?from={day}&to={day + 86_400_000L}&limit=100000&format=binary"),
                    body => Expect(body.Length / 16, 86_400, "hub binary points")))),
            Row(
                "24 h raw read of one 1 Hz series (86,400 points), hub JSON",
                influxDay,
                await underHubLoad(() => TimeAsync(
                    () => hubHttp.GetStringAsync($"/api/series/bench24/day/points?from={day}&to={day + 86_400_000L}&limit=100000"),
                    body => CheckHubPoints(body, 86_400)))),
            Row(
                $"1-minute means of 1000 series over {pointsPerSeries / 60} whole minutes",
                await underInfluxLoad(() => TimeAsync(() => influxHttp.GetStringAsync(influxMeans), body => CheckInflux(body, Series, wholeMinutes))),
                await underHubLoad(() => TimeAsync(() => hubHttp.GetStringAsync($"/api/devices/bench/points?from={t0}&to={t0 + minutes}&step=1m&agg=mean"), body => CheckHubMeans(body, wholeMinutes)))),
            Row(
                $"1-minute means of 1000 series over {pointsPerSeries / 60} min ending mid-minute",
                await underInfluxLoad(() => TimeAsync(() => influxHttp.GetStringAsync(influxMeansRagged), body => CheckInflux(body, Series, raggedMinutes))),
                await underHubLoad(() => TimeAsync(() => hubHttp.GetStringAsync($"/api/devices/bench/points?from={t0}&to={windowEnd}&step=1m&agg=mean"), body => CheckHubMeans(body, raggedMinutes)))),
        ];
    }

    // Every answer is checked for its size, on both sides: a fast wrong answer must not pass for a fast one.
    private static void Expect(long actual, long expected, string what)
    {
        if (actual != expected)
            throw new InvalidDataException($"{what}: expected {expected:N0}, got {actual:N0}");
    }

    /// <summary>An InfluxDB answer: <paramref name="series"/> series of <paramref name="rows"/> non-null values each.</summary>
    private static void CheckInflux(string body, int series, int rows)
    {
        using var json = JsonDocument.Parse(body);
        var all = json.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray().ToList();
        Expect(all.Count, series, "InfluxDB series");
        foreach (var one in all)
            Expect(one.GetProperty("values").EnumerateArray().Count(v => v[1].ValueKind == JsonValueKind.Number), rows, "InfluxDB values of " + one.GetProperty("name").GetString());
    }

    private static void CheckHubPoints(string body, int points)
    {
        using var json = JsonDocument.Parse(body);
        Expect(json.RootElement.GetProperty("points").GetArrayLength(), points, "hub JSON points");
    }

    /// <summary>A hub device answer: every one of the 1000 series with <paramref name="buckets"/> means.</summary>
    private static void CheckHubMeans(string body, int buckets)
    {
        using var json = JsonDocument.Parse(body);
        var series = json.RootElement.GetProperty("series").EnumerateObject().ToList();
        Expect(series.Count, Series, "hub series");
        foreach (var one in series)
            Expect(one.Value.GetArrayLength(), buckets, "hub means of " + one.Name);
    }

    /// <summary>Runs <paramref name="measure"/> while <paramref name="load"/> writes in the background.</summary>
    private static async Task<(double, double)> WhileLoadedAsync(Func<CancellationToken, Task> load, Func<Task<(double, double)>> measure)
    {
        using var stop = new CancellationTokenSource();
        var writing = Task.Run(() => load(stop.Token));
        await Task.Delay(2000); // let the load settle into its pace
        try
        {
            return await measure();
        }
        finally
        {
            await stop.CancelAsync();
            await writing;
        }
    }

    /// <summary>W5-shaped batches (1000 series, one second each) at <paramref name="pointsPerSecond"/>, QoS 1, until cancelled.</summary>
    private static async Task HubLoadAsync(BrokerUnderTest hub, double pointsPerSecond, long from, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId("w6-load").Build(), CancellationToken.None);
        await PacedAsync(pointsPerSecond, Series, async i =>
        {
            using var batch = new JsonBatchWriter(expectedReadings: Series);
            for (var s = 0; s < Series; s++)
                batch.TryAdd(Names[s], 20 + ((i + s) % 100 / 10.0), from + i * 1000L);
            await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("grid/bench/batch").WithPayload(batch.ToArray()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), CancellationToken.None);
        }, cancellationToken);
    }

    /// <summary>The same points as line protocol in 5000-line batches at <paramref name="pointsPerSecond"/>, until cancelled.</summary>
    private static async Task InfluxLoadAsync(InfluxUnderTest influx, double pointsPerSecond, long from, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = influx.Http };
        await PacedAsync(pointsPerSecond, 5000, async i =>
        {
            var body = new StringBuilder(5000 * 30);
            for (var line = 0; line < 5000; line++)
            {
                var n = i * 5000L + line;
                body.Append(CultureInfo.InvariantCulture, $"bench,s=s{n % Series:D4} v={20 + n % 100 / 10.0:0.0} {from + n / Series * 1000L}\n");
            }

            using var response = await http.PostAsync("/write?db=bench&precision=ms", new StringContent(body.ToString()), CancellationToken.None);
        }, cancellationToken);
    }

    /// <summary>Sends batch after batch of <paramref name="perBatch"/> points so that the rate holds at <paramref name="pointsPerSecond"/>.</summary>
    private static async Task PacedAsync(double pointsPerSecond, int perBatch, Func<long, Task> send, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        for (long i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds(i * perBatch / pointsPerSecond) - watch.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await send(i);
        }
    }

    private static async Task WriteDayAsync(BrokerUnderTest hub, InfluxUnderTest influx, long day)
    {
        using (var client = new MqttClientFactory().CreateMqttClient())
        {
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId("w6").Build());
            for (var start = 0; start < 86_400; start += 1000)
            {
                var items = string.Join(",", Enumerable.Range(start, Math.Min(1000, 86_400 - start)).Select(i => $"{{\"m\":\"day\",\"v\":{20 + i % 100 / 10.0:0.0},\"t\":{day + i * 1000L}}}"));
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("grid/bench24/batch").WithPayload($"{{\"readings\":[{items}]}}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            }
        }

        using var influxHttp = new HttpClient { BaseAddress = influx.Http };
        for (var start = 0; start < 86_400; start += 5000)
        {
            var body = string.Join("\n", Enumerable.Range(start, Math.Min(5000, 86_400 - start)).Select(i => $"bench24 v={20 + i % 100 / 10.0:0.0} {day + i * 1000L}"));
            (await influxHttp.PostAsync("/write?db=bench&precision=ms", new StringContent(body))).EnsureSuccessStatusCode();
        }

        await SettledHubBytesAsync(hub);
    }

    private static string Row(string name, (double P50, double P99) influx, (double P50, double P99) hub) =>
        $"| {name} | {influx.P50:0.0} / {influx.P99:0.0} ms | {hub.P50:0.0} / {hub.P99:0.0} ms | {hub.P50 / influx.P50:0.00}x |";

    /// <summary>p50 and p99 of 20 runs after a warm-up; every answer is checked, outside the timed part.</summary>
    private static async Task<(double P50, double P99)> TimeAsync<T>(Func<Task<T>> query, Action<T> check)
    {
        check(await query()); // warm up
        var times = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var watch = Stopwatch.StartNew();
            var answer = await query();
            times.Add(watch.Elapsed.TotalMilliseconds);
            check(answer);
        }

        times.Sort();
        return (times[times.Count / 2], times[^1]);
    }
}
