using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.GridNode;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Net;
using MQTTnet;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Three hubs as child processes, each pair linked through its own TCP fault proxy (the hubs dial only their
/// configured peers), split into A|BC, AB|C and A|B|C with writes on every side: late data, one reading written at
/// two hubs, a conflicting value, a burst, and a hub killed while it catches up. After each heal every hub holds
/// exactly the points written, with the same winners (equal digests).
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class GridPartitionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly long T0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 1000 * 1000;
    private static readonly TimeSpan HealWithin = TimeSpan.FromSeconds(30);
    private readonly TempDirectory[] _dirs = [new(), new(), new()];
    private readonly Dictionary<(string Series, long T), HashSet<double>> _written = [];

    public void Dispose()
    {
        foreach (var dir in _dirs)
            dir.Dispose();
    }

    [Fact]
    public async Task Three_hubs_split_every_way_with_writes_on_every_side_converge_to_the_same_content()
    {
        if (OperatingSystem.IsWindows())
            return; // the grid commands use the control socket, a Unix socket

        // A dials B and C, B dials C: one link per pair, each through its own proxy.
        await using var ab = new TcpFaultProxy();
        await using var ac = new TcpFaultProxy();
        await using var bc = new TcpFaultProxy();
        var args = new[]
        {
            new[] { "--discovery", "off", "--peer", ab.Address, "--peer", ac.Address },
            ["--discovery", "off", "--peer", $"localhost:{bc.EndPoint.Port}"], // a name: looked up off the link thread
            ["--discovery", "off"],
        };
        var hubs = new HubProcess?[3];
        try
        {
            for (var i = 0; i < 3; i++)
                hubs[i] = await HubProcess.StartAsync(_dirs[i].Path, args[i]);
            HubProcess A() => hubs[0]!;
            HubProcess B() => hubs[1]!;
            HubProcess C() => hubs[2]!;
            ab.Target = IPEndPoint.Parse(B().GridAddress);
            ac.Target = bc.Target = IPEndPoint.Parse(C().GridAddress);

            // History before the grid, then B and C join with codes from A.
            await PublishAsync(A(), "station", "coolant", [(T0, 1), (T0 + 1000, 2)]);
            await PublishAsync(B(), "van", "coolant", [(T0, 80)]);
            Assert.Equal(0, (await GridAsync(0, "create", "--name", "partitions")).ExitCode);
            foreach (var joiner in new[] { 1, 2 })
            {
                var (_, invitation) = await GridAsync(0, "invite");
                var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
                var (joined, joinOutput) = await GridAsync(joiner, "join", code);
                Assert.True(joined == 0, joinOutput);
            }

            await WaitForLinksAsync(hubs!, up: [(0, 1), (0, 2), (1, 2)]);
            Assert.True(ab.Connections > 0 && ac.Connections > 0 && bc.Connections > 0, "every pair links through its proxy");
            await PublishAsync(C(), "boat", "coolant", [(T0, 60)]);
            await ConvergedAsync(hubs!, "joined");
            await InSyncAsync(hubs!);

            // A | BC: the same reading at B and C, a conflicting value at A and C, late data at A.
            ab.Cut();
            ac.Cut();
            await WaitForLinksAsync(hubs!, up: [(1, 2)]);
            await PublishAsync(A(), "station", "coolant", [(T0 + 2000, 3), (T0 - 86_400_000, -1)]);
            await PublishAsync(A(), "shared", "rpm", [(T0 + 500, 1000)]);
            await PublishAsync(C(), "shared", "rpm", [(T0 + 500, 1500)]);
            await PublishAsync(B(), "shared", "rpm", [(T0 + 600, 900)]);
            await PublishAsync(C(), "shared", "rpm", [(T0 + 600, 900)]);
            // A knows how far behind the hubs it cannot reach are: the three points it wrote since their last vectors.
            await WaitForLagAsync(A(), [B().HubId, C().HubId], points: 3);

            // Those readings are provisional at A, from the earliest of them (the late one) on; nothing else is.
            var provisional = await Eventually.WaitForAsync(
                async () => (await A().Http.GetFromJsonAsync<GridProvisional>("/api/grid/provisional", Json.Options))!,
                p => p.Since.Count > 0,
                "A's provisional readings",
                HealWithin);
            Assert.Equal(new Dictionary<string, long> { ["station/coolant"] = T0 - 86_400_000, ["shared/rpm"] = T0 + 500 }, provisional!.Since);
            Assert.Equal(3, provisional.Points.Values.Sum());
            ab.Restore();
            ac.Restore();
            await ConvergedAsync(hubs!, "A|BC healed");
            await InSyncAsync(hubs!);
            await Eventually.WaitForAsync(
                async () => (await A().Http.GetFromJsonAsync<GridProvisional>("/api/grid/provisional", Json.Options))!.Since.Count,
                count => count == 0,
                "A's readings to be on other hubs",
                HealWithin);
            var winner = await PointAsync(A(), "shared/rpm", T0 + 500);
            Assert.Contains(winner, new[] { 1000.0, 1500.0 });
            foreach (var hub in hubs)
                Assert.Equal(winner, await PointAsync(hub!, "shared/rpm", T0 + 500));

            // AB | C: a burst at C meanwhile, and A is killed while it catches up from C, then started again.
            ac.Cut();
            bc.Cut();
            await WaitForLinksAsync(hubs!, up: [(0, 1)]);
            await PublishAsync(B(), "van", "coolant", [(T0 + 5000, 81)]);
            await PublishBurstAsync(C(), "boat", "rpm", T0, count: 6000);
            await PublishAsync(A(), "shared", "rpm", [(T0 + 600, 950)]);
            var before = ac.Connections;
            ac.Restore();
            bc.Restore();
            await Eventually.WaitForAsync(() => Task.FromResult(ac.Connections), n => n > before, "A to reconnect to C", HealWithin);
            await A().KillAsync();
            await A().DisposeAsync();
            hubs[0] = null;
            hubs[0] = await HubProcess.StartAsync(_dirs[0].Path, args[0]);
            await ConvergedAsync(hubs!, "AB|C healed, A killed while catching up");

            // A | B | C: every hub alone, each writes, then all links come back.
            ab.Cut();
            ac.Cut();
            bc.Cut();
            await WaitForLinksAsync(hubs!, up: []);
            await PublishAsync(A(), "station", "coolant", [(T0 + 3000, 4)]);
            await PublishAsync(B(), "van", "coolant", [(T0 + 6000, 82)]);
            await PublishAsync(C(), "boat", "coolant", [(T0 + 1000, 61)]);
            await PublishBatchAsync(C(), "tank", [("level", T0, 0.5), ("flow", T0, 12), ("level", T0 + 1000, 0.75)]); // one device delta
            await PublishAsync(B(), "shared", "rpm", [(T0 + 700, 1)]);
            await PublishAsync(C(), "shared", "rpm", [(T0 + 700, 2)]);
            ab.Restore();
            ac.Restore();
            bc.Restore();
            await ConvergedAsync(hubs!, "A|B|C healed");
            Assert.Equal(0.75, await PointAsync(A(), "tank/level", T0 + 1000));
            Assert.Equal(12, await PointAsync(B(), "tank/flow", T0));
        }
        finally
        {
            foreach (var hub in hubs)
            {
                if (hub is not null)
                    await hub.DisposeAsync();
            }
        }
    }

    private Task<(int ExitCode, string Output)> GridAsync(int hub, params string[] args) =>
        HubProcess.RunToEndAsync(null, ["grid", .. args, "--data-dir", _dirs[hub].Path]);

    private async Task PublishAsync(HubProcess hub, string device, string metric, (long T, double V)[] points)
    {
        await TestMqtt.PublishReadingsAsync(hub.Mqtt, device, metric, points);
        foreach (var (t, v) in points)
            Written($"{device}/{metric}", t, v);
    }

    /// <summary>Readings of several series of one device in one message, as a station sends its readings of a minute.</summary>
    private async Task PublishBatchAsync(HubProcess hub, string device, (string Metric, long T, double V)[] readings)
    {
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: device + "-batch");
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"grid/{device}/batch")
            .WithPayload(JsonSerializer.Serialize(new { readings = readings.Select(r => new { m = r.Metric, v = r.V, t = r.T }) }))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        Assert.True(result.IsSuccess, result.ReasonString);
        foreach (var (metric, t, v) in readings)
            Written($"{device}/{metric}", t, v);
    }

    /// <summary>Points a second apart from <paramref name="from"/>, in batches, as a device catching up after an outage sends them.</summary>
    private async Task PublishBurstAsync(HubProcess hub, string device, string metric, long from, int count)
    {
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: device + "-burst");
        for (var start = 0; start < count; start += 1000)
        {
            var batch = Enumerable.Range(start, Math.Min(1000, count - start)).Select(i => new { m = metric, v = 1000 + (i % 500), t = from + (i * 1000L) }).ToList();
            var result = await client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic($"grid/{device}/batch")
                .WithPayload(JsonSerializer.Serialize(new { readings = batch }))
                .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
            Assert.True(result.IsSuccess, result.ReasonString);
            foreach (var reading in batch)
                Written($"{device}/{metric}", reading.t, reading.v);
        }
    }

    private void Written(string series, long t, double v)
    {
        if (!_written.TryGetValue((series, t), out var values))
            _written[(series, t)] = values = [];
        values.Add(v);
    }

    /// <summary>Every hub holds exactly one point per (series, time) written, with the same winners: equal counts and digests.</summary>
    private async Task ConvergedAsync(HubProcess?[] hubs, string step)
    {
        var started = DateTime.UtcNow;
        var expected = _written.Count;
        await Eventually.WaitForAsync(
            async () =>
            {
                var digests = new List<GridDigest>();
                foreach (var hub in hubs)
                    digests.Add((await hub!.Http.GetFromJsonAsync<GridDigest>("/api/grid/digest", Json.Options))!);
                return new Digests(digests);
            },
            digests => digests.All.All(d => d.Points == expected && d.Digest == digests.All[0].Digest),
            $"all three hubs to hold the same {expected} points ({step})",
            HealWithin);
        output.WriteLine($"{step}: {expected} points alike on three hubs after {(DateTime.UtcNow - started).TotalSeconds:F1} s");
    }

    private static async Task WaitForLinksAsync(HubProcess?[] hubs, (int, int)[] up)
    {
        var ids = hubs.Select(h => h!.HubId).ToArray();
        string Name(string id) => "ABC"[Array.IndexOf(ids, id)].ToString();
        var want = string.Join(" ", up.SelectMany(p => new[] { $"{"ABC"[p.Item1]}>{"ABC"[p.Item2]}", $"{"ABC"[p.Item2]}>{"ABC"[p.Item1]}" }).Order(StringComparer.Ordinal));
        await Eventually.WaitForAsync(
            async () =>
            {
                var links = new List<string>();
                for (var i = 0; i < hubs.Length; i++)
                {
                    var view = (await hubs[i]!.Http.GetFromJsonAsync<GridResponse>("/api/grid", Json.Options))!.Links!;
                    links.AddRange(view.Peers.Where(p => p.State == "up").Select(p => $"{"ABC"[i]}>{Name(p.HubId)}"));
                }

                return string.Join(" ", links.Order(StringComparer.Ordinal));
            },
            links => links == want,
            $"exactly the links {want} to be up",
            HealWithin);
    }

    /// <summary>Every hub has heard from each peer a vector that holds all it has: each says "in sync".</summary>
    private static async Task InSyncAsync(HubProcess?[] hubs)
    {
        foreach (var hub in hubs)
            await WaitForLagAsync(hub!, [.. hubs.Select(h => h!.HubId).Where(id => id != hub!.HubId)], points: 0);
    }

    private static async Task WaitForLagAsync(HubProcess hub, string[] peers, long points)
    {
        await Eventually.WaitForAsync(
            async () =>
            {
                var view = (await hub.Http.GetFromJsonAsync<GridResponse>("/api/grid", Json.Options))!.Links!;
                return string.Join("; ", view.Peers.Where(p => peers.Contains(p.HubId)).Select(p => $"{p.HubId[..6]}: {p.PointsBehind?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} points, {p.BehindMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} ms"));
            },
            lags => lags.Split("; ").Length == peers.Length && lags.Split("; ").All(l => l.Contains($": {points} points", StringComparison.Ordinal) && (points > 0) != l.EndsWith(" 0 ms", StringComparison.Ordinal)),
            $"hub {hub.HubId[..6]} to see its peers {points} points behind",
            HealWithin);
    }

    private static async Task<double> PointAsync(HubProcess hub, string series, long t)
    {
        using var json = JsonDocument.Parse(await hub.Http.GetStringAsync($"/api/series/{series}/points?from={t}&to={t + 1}"));
        return Assert.Single(json.RootElement.GetProperty("points").EnumerateArray().ToList())[1].GetDouble();
    }

    private sealed record Digests(List<GridDigest> All)
    {
        public override string ToString() => string.Join("; ", All.Select((d, i) => $"{"ABC"[i]}: {d.Points} points, {d.Digest[..12]}"));
    }
}
