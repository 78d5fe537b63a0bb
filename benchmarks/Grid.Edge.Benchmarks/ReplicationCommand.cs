using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// DESIGN.md W7, steady replication: two hubs joined in a grid, one taking a paced load of readings over MQTT. The
/// lag is what a dashboard sees: from the reading's time (set when it is published) to its arrival on the live
/// stream, at the hub that took it (local, the baseline beside it) and at the other hub (replicated). Wire bytes are
/// the sync messages the first hub sent the second, per replicated point, against the bytes per point its own store
/// keeps on disk.
/// </summary>
internal static class ReplicationCommand
{
    private const int DevicesMax = 100;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    public static async Task<int> RunAsync(string hubDll, int series, int rate, int seconds)
    {
        var devices = Math.Clamp(series / 100, 1, DevicesMax);
        var metrics = Math.Max(1, series / devices);
        series = devices * metrics;
        var perTick = Math.Max(1, rate / (int)(1000 / Tick.TotalMilliseconds));
        var ticksPerSeries = (series + perTick - 1) / perTick;
        Console.WriteLine($"W7 steady replication: {series} series ({devices} devices x {metrics} metrics), {rate:N0} points/s for {seconds} s; hub A on core 0, hub B on core 1 with the load generator");

        await using var a = await BrokerUnderTest.StartHubAsync(hubDll, core: 0);
        await using var b = await BrokerUnderTest.StartHubAsync(hubDll, core: 1);
        using var httpA = a.NewHttpClient();
        using var httpB = b.NewHttpClient();
        await HubCliAsync(hubDll, "grid", "create", "--name", "w7", "--data-dir", a.DataDirectory);
        var invitation = await HubCliAsync(hubDll, "grid", "invite", "--data-dir", a.DataDirectory);
        var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
        await HubCliAsync(hubDll, "grid", "join", code, "--data-dir", b.DataDirectory);
        var bId = await HubIdAsync(httpB);
        await WaitAsync(async () => (await PeerAsync(httpA, bId))?.GetProperty("state").GetString() == "up", TimeSpan.FromSeconds(30), "the link A-B");

        // Lag is sampled on one device's series at both hubs (the live stream of every series would be the bottleneck).
        using var stop = new CancellationTokenSource();
        var localLag = new LagRecorder();
        var remoteLag = new LagRecorder();
        var listeners = new[] { ListenAsync(httpA, "dev000", localLag, stop.Token), ListenAsync(httpB, "dev000", remoteLag, stop.Token) };
        await Task.Delay(500);

        var before = await PeerAsync(httpA, bId);
        long bytesOutBefore = before!.Value.GetProperty("bytesOut").GetInt64();
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.MqttPort).WithClientId("w7-load").WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 100 * 100 + 200;
        localLag.From = remoteLag.From = start;
        var ticks = (int)(seconds * 1000 / Tick.TotalMilliseconds);
        long published = 0;
        long worstLateMs = 0;
        var clock = Stopwatch.StartNew();
        for (var tick = 0; tick < ticks; tick++)
        {
            var t = start + (tick * (long)Tick.TotalMilliseconds);
            var wait = t - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (wait > 0)
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
            worstLateMs = Math.Max(worstLateMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - t);

            // Each tick writes perTick points: every series once per ticksPerSeries ticks, spread over the devices.
            var offset = tick % ticksPerSeries * perTick;
            var readings = Enumerable.Range(offset, Math.Min(perTick, series - offset)).Select(i => (Device: i / metrics, Metric: i % metrics)).GroupBy(x => x.Device);
            foreach (var group in readings)
            {
                var payload = new StringBuilder("{\"readings\":[");
                var first = true;
                foreach (var (_, metric) in group)
                {
                    if (!first)
                        payload.Append(',');
                    first = false;
                    var value = Math.Round(20 + (5 * Math.Sin((t / 60_000.0) + metric)), 1);
                    payload.Append(CultureInfo.InvariantCulture, $"{{\"m\":\"m{metric:D3}\",\"v\":{value.ToString(CultureInfo.InvariantCulture)},\"t\":{t},\"unit\":\"W\"}}");
                    published++;
                }

                payload.Append("]}");
                await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"grid/dev{group.Key:D3}/batch").WithPayload(payload.ToString()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            }
        }

        var loadSeconds = clock.Elapsed.TotalSeconds;
        var end = DateTimeOffset.UtcNow;

        // Caught up when B holds what A holds (the same digest over the run's window).
        var window = $"/api/grid/digest?from={start}&to={start + (ticks * (long)Tick.TotalMilliseconds)}";
        var caughtUp = Stopwatch.StartNew();
        await WaitAsync(
            async () =>
            {
                var left = await httpA.GetFromJsonAsync<JsonElement>(window);
                var right = await httpB.GetFromJsonAsync<JsonElement>(window);
                return left.GetProperty("points").GetInt64() == published && left.GetProperty("digest").GetString() == right.GetProperty("digest").GetString();
            },
            TimeSpan.FromMinutes(10),
            "B to hold every point A took");
        var catchUpSeconds = caughtUp.Elapsed.TotalSeconds;
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(listeners.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));

        var after = await PeerAsync(httpA, bId);
        var wire = after!.Value.GetProperty("bytesOut").GetInt64() - bytesOutBefore;
        var storage = await httpA.GetFromJsonAsync<JsonElement>("/api/storage");
        var storedPerPoint = storage.GetProperty("bytesOnDiskPerPoint").GetDouble();
        var deltaLog = new FileInfo(Path.Combine(a.DataDirectory, "grid", "deltas.db"));
        var deltaLogBytes = deltaLog.Exists ? deltaLog.Length + (File.Exists(deltaLog.FullName + "-wal") ? new FileInfo(deltaLog.FullName + "-wal").Length : 0) : 0;
        var links = (await httpA.GetFromJsonAsync<JsonElement>("/api/grid")).GetProperty("links");

        Console.WriteLine($"  load: {published:N0} points in {loadSeconds:F1} s ({published / loadSeconds:N0}/s; the generator was at most {worstLateMs} ms late)");
        Console.WriteLine($"  lag publish -> live stream, local at A (baseline):  {localLag.Summary()}");
        Console.WriteLine($"  lag publish -> live stream, replicated at B:        {remoteLag.Summary()}   (target p99 <= 100 ms)");
        Console.WriteLine($"  B held every point {catchUpSeconds:F1} s after the load ended ({(DateTimeOffset.UtcNow - end).TotalSeconds:F1} s with the checks)");
        Console.WriteLine($"  wire A -> B: {wire:N0} B of sync messages, {wire / (double)published:F1} B per point; A's store: {storedPerPoint:F2} B per point on disk; ratio {wire / (double)published / storedPerPoint:F1}x (target <= 1.2x)");
        Console.WriteLine($"  A's delta log (grid/deltas.db): {deltaLogBytes:N0} B, {deltaLogBytes / (double)published:F1} B per point; deltas authored {links.GetProperty("deltasAuthored").GetInt64():N0} ({published / (double)Math.Max(1, links.GetProperty("deltasAuthored").GetInt64()):F1} points each)");
        return 0;
    }

    private static async Task ListenAsync(HttpClient http, string device, LagRecorder lag, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/live?device={device}");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
                continue;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using var json = JsonDocument.Parse(line.AsMemory(6));
            lag.Add(json.RootElement.GetProperty("series").GetString()!, json.RootElement.GetProperty("t").GetInt64(), now);
        }
    }

    internal static async Task<string> HubCliAsync(string hubDll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(hubDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the hub's CLI");
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"'{string.Join(' ', args)}' failed: {errors}{output}");
    }

    internal static async Task<string> HubIdAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/grid")).GetProperty("hub").GetProperty("id").GetString()!;

    internal static async Task<JsonElement?> PeerAsync(HttpClient http, string hubId)
    {
        var grid = await http.GetFromJsonAsync<JsonElement>("/api/grid");
        if (!grid.TryGetProperty("links", out var links) || links.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var peer in links.GetProperty("peers").EnumerateArray())
        {
            if (peer.GetProperty("hubId").GetString() == hubId)
                return peer;
        }

        return null;
    }

    internal static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Each (series, time) counted once, at its first arrival, if it was published in the run.</summary>
    private sealed class LagRecorder
    {
        private readonly Dictionary<(string, long), long> _first = [];

        public long From { get; set; } = long.MaxValue;

        public void Add(string series, long t, long arrivedMs)
        {
            if (t >= From)
                _first.TryAdd((series, t), arrivedMs - t);
        }

        public string Summary()
        {
            if (_first.Count == 0)
                return "no samples";
            var sorted = _first.Values.Order().ToList();
            long Quantile(double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
            return $"p50 {Quantile(0.5)} ms, p99 {Quantile(0.99)} ms, max {sorted[^1]} ms ({sorted.Count:N0} samples)";
        }
    }
}
