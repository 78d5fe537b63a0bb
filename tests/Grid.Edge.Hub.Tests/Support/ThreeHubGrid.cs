using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.GridNode;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Testing.Net;
using MQTTnet;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>
/// Three hubs A, B and C as child processes, each pair linked through its own TCP fault proxy: A dials B and C, B dials
/// C (by a name, looked up off the link thread), C dials nobody, and no hub dials an address it learned. What the tests
/// write goes through here, so the content every hub must end with is known from the writes, never from the hubs.
/// </summary>
internal sealed class ThreeHubGrid : IAsyncDisposable
{
    public static readonly TimeSpan HealWithin = TimeSpan.FromSeconds(30);
    private readonly TempDirectory[] _dirs = [new(), new(), new()];
    private readonly HubProcess?[] _hubs = new HubProcess?[3];
    private readonly IReadOnlyDictionary<string, string>?[] _environment;
    private readonly Dictionary<(string Series, long T), HashSet<double>> _written = [];
    private readonly Action<string> _log;

    private ThreeHubGrid(Action<string> log, IReadOnlyDictionary<string, string>?[] environment)
    {
        _log = log;
        _environment = environment;
    }

    public TcpFaultProxy AB { get; } = new();

    public TcpFaultProxy AC { get; } = new();

    public TcpFaultProxy BC { get; } = new();

    /// <summary>A running hub: 0 is A, 1 B, 2 C.</summary>
    public HubProcess this[int hub] => _hubs[hub] ?? throw new InvalidOperationException($"hub {Name(hub)} is not running");

    /// <summary>Every distinct (series, time) written, with the values written there.</summary>
    public IReadOnlyDictionary<(string Series, long T), HashSet<double>> Written => _written;

    public static string Name(int hub) => "ABC"[hub].ToString();

    /// <summary>Starts A, B and C, each with the extra environment given for it (the grid is not formed yet: <see cref="FormAsync"/>).</summary>
    public static async Task<ThreeHubGrid> StartAsync(Action<string> log, params IReadOnlyDictionary<string, string>?[] environment)
    {
        var grid = new ThreeHubGrid(log, [.. environment.Concat(Enumerable.Repeat<IReadOnlyDictionary<string, string>?>(null, 3)).Take(3)]);
        try
        {
            for (var hub = 0; hub < 3; hub++)
                await grid.StartAsync(hub);
        }
        catch
        {
            await grid.DisposeAsync();
            throw;
        }

        return grid;
    }

    public bool IsRunning(int hub) => _hubs[hub] is not null;

    /// <summary>Starts a hub that is not running with its usual options and <paramref name="extraArgs"/>; the proxies in front of it follow its new grid port.</summary>
    public async Task StartAsync(int hub, params string[] extraArgs)
    {
        if (_hubs[hub] is not null)
            throw new InvalidOperationException($"hub {Name(hub)} runs already");
        string[] options = hub switch
        {
            0 => ["--discovery", "off", "--peer", AB.Address, "--peer", AC.Address],
            1 => ["--discovery", "off", "--peer", $"localhost:{BC.EndPoint.Port}"],
            _ => ["--discovery", "off"],
        };
        var started = await HubProcess.StartAsync(_dirs[hub].Path, _environment[hub], [.. options, .. extraArgs]);
        _hubs[hub] = started;
        var address = IPEndPoint.Parse(started.GridAddress);
        if (hub == 1)
            AB.Target = address;
        if (hub == 2)
            AC.Target = BC.Target = address;
    }

    /// <summary>SIGKILL: nothing flushed, nothing said to the peers.</summary>
    public async Task KillAsync(int hub)
    {
        var process = this[hub];
        _hubs[hub] = null;
        await process.KillAsync();
        await process.DisposeAsync();
    }

    /// <summary>SIGTERM, as an operator's restart sends: the hub must stop cleanly.</summary>
    public async Task StopAsync(int hub)
    {
        var process = this[hub];
        _hubs[hub] = null;
        var exit = await process.TerminateAsync();
        await process.DisposeAsync();
        if (exit != 0)
            throw new InvalidOperationException($"hub {Name(hub)} exited with {exit} on SIGTERM. Output:\n{process.Output}");
    }

    /// <summary>
    /// A founds the grid, B and C join with codes from A, and every link comes up: with the <c>grid</c> commands as
    /// an operator types them, or over the HTTP API (no command processes to start: quicker on a small machine).
    /// </summary>
    public async Task FormAsync(string name, bool overHttp = false)
    {
        if (overHttp)
            Created(await this[0].Http.PostAsJsonAsync("/api/grid", new CreateGridRequest(name)), "grid create");
        else if (await GridAsync(0, "create", "--name", name) is (not 0, var createOutput))
            throw new InvalidOperationException("grid create failed: " + createOutput);
        foreach (var joiner in new[] { 1, 2 })
        {
            if (overHttp)
            {
                var invitation = Created(await this[0].Http.PostAsJsonAsync("/api/grid/invitations", new InviteRequest(60)), "grid invite");
                var code = (await invitation.Content.ReadFromJsonAsync<InviteResponse>(Json.Options))!.Code;
                Created(await this[joiner].Http.PostAsJsonAsync("/api/grid/join", new JoinRequest(code)), $"{Name(joiner)}'s join");
                continue;
            }

            var (_, invitationOutput) = await GridAsync(0, "invite");
            var line = invitationOutput.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
            if (await GridAsync(joiner, "join", line) is (not 0, var joinOutput))
                throw new InvalidOperationException($"{Name(joiner)} could not join: {joinOutput}");
        }

        await WaitForLinksAsync([(0, 1), (0, 2), (1, 2)]);

        static HttpResponseMessage Created(HttpResponseMessage response, string what) =>
            response.IsSuccessStatusCode ? response
                : throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
    }

    /// <summary>A grid command on a hub's machine (through its control socket).</summary>
    public Task<(int ExitCode, string Output)> GridAsync(int hub, params string[] args) =>
        HubProcess.RunToEndAsync(null, ["grid", .. args, "--data-dir", _dirs[hub].Path]);

    /// <summary>Readings of one series as a device sends them, one acknowledged message each.</summary>
    public async Task PublishAsync(int hub, string device, string metric, (long T, double V)[] points)
    {
        await TestMqtt.PublishReadingsAsync(this[hub].Mqtt, device, metric, points);
        foreach (var (t, v) in points)
            Record($"{device}/{metric}", t, v);
    }

    /// <summary>Readings of several series of one device in one message, as a station sends its readings of a minute.</summary>
    public async Task PublishBatchAsync(int hub, string device, (string Metric, long T, double V)[] readings)
    {
        using var client = await TestMqtt.ConnectAsync(this[hub].Mqtt, clientId: device + "-batch");
        await PublishBatchAsync(client, device, [.. readings.Select(r => (r.Metric, r.T, r.V))]);
    }

    /// <summary>Points a second apart from <paramref name="from"/>, in batches, as a device catching up after an outage sends them.</summary>
    public async Task PublishBurstAsync(int hub, string device, string metric, long from, int count)
    {
        using var client = await TestMqtt.ConnectAsync(this[hub].Mqtt, clientId: device + "-burst");
        for (var start = 0; start < count; start += 1000)
            await PublishBatchAsync(client, device, [.. Enumerable.Range(start, Math.Min(1000, count - start)).Select(i => (metric, from + (i * 1000L), 1000.0 + (i % 500)))]);
    }

    /// <summary>The digest of what a hub holds with from &lt;= t &lt; to (default: everything).</summary>
    public async Task<GridDigest> DigestAsync(int hub, long? from = null, long? to = null)
    {
        var query = from is null ? "" : $"?from={from.Value.ToString(CultureInfo.InvariantCulture)}&to={to!.Value.ToString(CultureInfo.InvariantCulture)}";
        return (await this[hub].Http.GetFromJsonAsync<GridDigest>("/api/grid/digest" + query, Json.Options))!;
    }

    /// <summary>A hub's view of its links (GET /api/grid).</summary>
    public async Task<GridLinksView> LinksAsync(int hub) =>
        (await this[hub].Http.GetFromJsonAsync<GridResponse>("/api/grid", Json.Options))!.Links!;

    /// <summary>Every hub holds exactly one point per (series, time) written, with the same winners: equal counts and digests.</summary>
    public async Task ConvergedAsync(string step)
    {
        var started = DateTime.UtcNow;
        var expected = _written.Count;
        await Eventually.WaitForAsync(
            async () =>
            {
                var digests = new List<GridDigest>();
                for (var hub = 0; hub < 3; hub++)
                    digests.Add(await DigestAsync(hub));
                return new Digests(digests);
            },
            digests => digests.All.All(d => d.Points == expected && d.Digest == digests.All[0].Digest),
            $"all three hubs to hold the same {expected} points ({step})",
            HealWithin);
        _log($"{step}: {expected} points alike on three hubs after {(DateTime.UtcNow - started).TotalSeconds:F1} s");
    }

    /// <summary>Waits until exactly the links <paramref name="up"/> (pairs of hubs) are up, as each running hub sees them.</summary>
    public async Task WaitForLinksAsync((int, int)[] up)
    {
        var want = string.Join(" ", up.SelectMany(p => new[] { $"{Name(p.Item1)}>{Name(p.Item2)}", $"{Name(p.Item2)}>{Name(p.Item1)}" }).Order(StringComparer.Ordinal));
        await Eventually.WaitForAsync(
            async () =>
            {
                var ids = _hubs.Select(h => h?.HubId).ToArray();
                var links = new List<string>();
                for (var hub = 0; hub < 3; hub++)
                {
                    if (_hubs[hub] is null)
                        continue;
                    var view = await LinksAsync(hub);
                    links.AddRange(view.Peers.Where(p => p.State == "up").Select(p => $"{Name(hub)}>{(Array.IndexOf(ids, p.HubId) is var i and >= 0 ? Name(i) : p.HubId)}"));
                }

                return string.Join(" ", links.Order(StringComparer.Ordinal));
            },
            links => links == want,
            $"exactly the links {want} to be up",
            HealWithin);
    }

    /// <summary>Every hub has heard from each peer a vector that holds all it has: each says "in sync".</summary>
    public async Task InSyncAsync()
    {
        for (var hub = 0; hub < 3; hub++)
            await WaitForLagAsync(hub, [.. Enumerable.Range(0, 3).Where(h => h != hub)], points: 0);
    }

    /// <summary>Waits until <paramref name="hub"/> sees each of <paramref name="peers"/> exactly <paramref name="points"/> points behind.</summary>
    public async Task WaitForLagAsync(int hub, int[] peers, long points)
    {
        var ids = peers.Select(p => this[p].HubId).ToArray();
        await Eventually.WaitForAsync(
            async () =>
            {
                var view = await LinksAsync(hub);
                return string.Join("; ", view.Peers.Where(p => ids.Contains(p.HubId)).Select(p => $"{p.HubId[..6]}: {p.PointsBehind?.ToString(CultureInfo.InvariantCulture) ?? "?"} points, {p.BehindMs?.ToString(CultureInfo.InvariantCulture) ?? "?"} ms"));
            },
            lags => lags.Split("; ").Length == ids.Length && lags.Split("; ").All(l => l.Contains($": {points} points", StringComparison.Ordinal) && (points > 0) != l.EndsWith(" 0 ms", StringComparison.Ordinal)),
            $"hub {Name(hub)} to see {string.Join(", ", peers.Select(Name))} {points} points behind",
            HealWithin);
    }

    /// <summary>The one value a hub holds at (series, t).</summary>
    public async Task<double> PointAsync(int hub, string series, long t)
    {
        using var json = JsonDocument.Parse(await this[hub].Http.GetStringAsync($"/api/series/{series}/points?from={t}&to={t + 1}"));
        return Assert.Single(json.RootElement.GetProperty("points").EnumerateArray().ToList())[1].GetDouble();
    }

    /// <summary>The raw points (time, value) a hub holds of a series in [from, to).</summary>
    public async Task<List<(long T, double V)>> PointsAsync(int hub, string series, long from, long to)
    {
        using var json = JsonDocument.Parse(await this[hub].Http.GetStringAsync($"/api/series/{series}/points?from={from}&to={to}&limit={Api.ApiEndpoints.MaxRawLimit}"));
        return [.. json.RootElement.GetProperty("points").EnumerateArray().Select(p => (p[0].GetInt64(), p[1].GetDouble()))];
    }

    /// <summary>The last lines each running hub printed, for a failure's story.</summary>
    public string Tails(int lines) =>
        string.Join("\n", Enumerable.Range(0, 3).Where(IsRunning).Select(h =>
            $"--- hub {Name(h)}, last {lines} lines:\n{string.Join("\n", this[h].Output.Split('\n').TakeLast(lines))}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            if (hub is not null)
                await hub.DisposeAsync();
        }

        await AB.DisposeAsync();
        await AC.DisposeAsync();
        await BC.DisposeAsync();
        foreach (var dir in _dirs)
            dir.Dispose();
    }

    private async Task PublishBatchAsync(IMqttClient client, string device, (string Metric, long T, double V)[] readings)
    {
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"grid/{device}/batch")
            .WithPayload(JsonSerializer.Serialize(new { readings = readings.Select(r => new { m = r.Metric, v = r.V, t = r.T }) }))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        Assert.True(result.IsSuccess, result.ReasonString);
        foreach (var (metric, t, v) in readings)
            Record($"{device}/{metric}", t, v);
    }

    private void Record(string series, long t, double v)
    {
        if (!_written.TryGetValue((series, t), out var values))
            _written[(series, t)] = values = [];
        values.Add(v);
    }

    private sealed record Digests(List<GridDigest> All)
    {
        public override string ToString() => string.Join("; ", All.Select((d, i) => $"{Name(i)}: {d.Points} points, {d.Digest[..12]}"));
    }
}
