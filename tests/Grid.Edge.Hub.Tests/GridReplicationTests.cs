using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.GridNode;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Hubs as child processes with their own data folders, joined by an invitation over real NetMQ sockets on
/// 127.0.0.1: each ends with the other's readings, the same content by the digest, after restarts and kills too.
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class GridReplicationTests : IDisposable
{
    private static readonly long T0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 1000 * 1000;
    private readonly TempDirectory _home = new();
    private readonly TempDirectory _van = new();
    private readonly TempDirectory _third = new();

    public void Dispose()
    {
        _home.Dispose();
        _van.Dispose();
        _third.Dispose();
    }

    private static Task<(int ExitCode, string Output)> GridAsync(TempDirectory dir, params string[] args) =>
        HubProcess.RunToEndAsync(null, ["grid", .. args, "--data-dir", dir.Path]);

    [Fact]
    public async Task Two_hubs_joined_by_an_invitation_hold_each_others_readings_and_the_same_digest_after_a_kill()
    {
        if (OperatingSystem.IsWindows())
            return; // the grid commands use the control socket, a Unix socket

        await using var home = await HubProcess.StartAsync(_home.Path);
        var van = await HubProcess.StartAsync(_van.Path);
        try
        {
            // History from before the grid on both sides: it goes out once they are members.
            await PublishAsync(home, "station", "temperature", [(T0, 11.5), (T0 + 1000, 11.75)]);
            await PublishAsync(van, "engine", "coolant", [(T0, 80), (T0 + 5000, 82.5)]);

            Assert.Equal(0, (await GridAsync(_home, "create", "--name", "family")).ExitCode);
            var (invited, invitation) = await GridAsync(_home, "invite", "--minutes", "10");
            Assert.Equal(0, invited);
            var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
            Assert.Contains(home.GridAddress, invitation, StringComparison.Ordinal);

            var (joined, joinOutput) = await GridAsync(_van, "join", code);
            Assert.True(joined == 0, joinOutput);
            Assert.Contains("joined grid 'family'", joinOutput, StringComparison.Ordinal);

            // Both know both members; the code is spent (a third hub cannot use it again).
            var homeView = await GridOfAsync(home);
            Assert.Equal(new[] { home.HubId, van.HubId }.Order(StringComparer.Ordinal), homeView.Grid.Members.Select(m => m.HubId).Order(StringComparer.Ordinal));
            Assert.Equal(2, (await GridOfAsync(van)).Grid.Members.Count);
            await using (var third = await HubProcess.StartAsync(_third.Path))
            {
                var (reused, reusedOutput) = await GridAsync(_third, "join", code);
                Assert.Equal(1, reused);
                Assert.Contains("already used", reusedOutput, StringComparison.Ordinal);
                Assert.Null((await GridOfAsync(third)).Grid.Id);
            }

            // Live readings after the join, both ways, and a correction of a replicated point at its origin.
            await PublishAsync(home, "station", "temperature", [(T0 + 2000, 12.0)]);
            await PublishAsync(van, "engine", "coolant", [(T0 + 10_000, 85)]);
            await PublishAsync(home, "station", "temperature", [(T0 + 1000, 11.8)]);
            await WaitForPointsAsync(van, "station/temperature", [(T0, 11.5), (T0 + 1000, 11.8), (T0 + 2000, 12.0)]);
            await WaitForPointsAsync(home, "engine/coolant", [(T0, 80), (T0 + 5000, 82.5), (T0 + 10_000, 85)]);
            var digest = await WaitForSameDigestAsync(home, van, points: 6);

            var status = (await GridOfAsync(home)).Links!;
            var peer = Assert.Single(status.Peers);
            Assert.Equal(van.HubId, peer.HubId);
            Assert.Equal("up", peer.State);
            Assert.True(peer.BytesIn > 0 && peer.BytesOut > 0);

            // The van is killed; what the home hub records meanwhile reaches it after its restart.
            await van.KillAsync();
            await PublishAsync(home, "station", "temperature", [(T0 + 3000, 12.25), (T0 + 4000, 12.5)]);
            await van.DisposeAsync();
            van = await HubProcess.StartAsync(_van.Path);
            await WaitForPointsAsync(van, "station/temperature", [(T0, 11.5), (T0 + 1000, 11.8), (T0 + 2000, 12.0), (T0 + 3000, 12.25), (T0 + 4000, 12.5)]);
            var after = await WaitForSameDigestAsync(home, van, points: 8);
            Assert.NotEqual(digest.Digest, after.Digest);
        }
        finally
        {
            await van.DisposeAsync();
        }
    }

    [Fact]
    public async Task Members_that_both_moved_to_new_ports_find_each_other_by_the_lan_beacon_and_a_stranger_does_not()
    {
        if (OperatingSystem.IsWindows())
            return;

        // The discovery port is the system's choice, held by the test (the hubs share it, as hubs on one machine do).
        using var holder = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        holder.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
        holder.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.255.255.255"), 0));
        var discovery = new[] { "--discovery-port", ((System.Net.IPEndPoint)holder.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };

        var home = await HubProcess.StartAsync(_home.Path, discovery);
        var van = await HubProcess.StartAsync(_van.Path, discovery);
        await using var stranger = await HubProcess.StartAsync(_third.Path, discovery);
        try
        {
            Assert.Equal(0, (await GridAsync(_home, "create", "--name", "family")).ExitCode);
            Assert.Equal(0, (await GridAsync(_third, "create", "--name", "strangers")).ExitCode);
            var (_, invitation) = await GridAsync(_home, "invite");
            var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
            Assert.Equal(0, (await GridAsync(_van, "join", code)).ExitCode);

            // Both stop and come back on other ports: every address either remembers is stale.
            var (oldHome, oldVan) = (home.GridAddress, van.GridAddress);
            await home.KillAsync();
            await van.KillAsync();
            await home.DisposeAsync();
            await van.DisposeAsync();
            home = await HubProcess.StartAsync(_home.Path, discovery);
            van = await HubProcess.StartAsync(_van.Path, discovery);
            Assert.NotEqual(oldHome, home.GridAddress);
            Assert.NotEqual(oldVan, van.GridAddress);

            await PublishAsync(home, "station", "temperature", [(T0, 7.5)]);
            await WaitForPointsAsync(van, "station/temperature", [(T0, 7.5)]);
            var peer = Assert.Single((await GridOfAsync(van)).Links!.Peers, p => p.State == "up");
            Assert.Equal(home.HubId, peer.HubId);
            Assert.Equal(home.GridAddress, peer.Address);

            // The stranger broadcast on the same port all along: no member could open its beacon, nor it theirs.
            Assert.Empty((await GridOfAsync(stranger)).Links!.Peers);
            Assert.DoesNotContain((await GridOfAsync(home)).Links!.Peers, p => p.HubId == stranger.HubId);
        }
        finally
        {
            await home.DisposeAsync();
            await van.DisposeAsync();
        }
    }

    private static Task PublishAsync(HubProcess hub, string device, string metric, (long T, double V)[] points) =>
        TestMqtt.PublishReadingsAsync(hub.Mqtt, device, metric, points);

    private static async Task<GridResponse> GridOfAsync(HubProcess hub) =>
        (await hub.Http.GetFromJsonAsync<GridResponse>("/api/grid", Json.Options))!;

    private static async Task WaitForPointsAsync(HubProcess hub, string series, (long T, double V)[] expected)
    {
        var want = string.Join(" ", expected.Select(p => $"{p.T}={p.V}"));
        await Eventually.WaitForAsync(
            async () =>
            {
                using var response = await hub.Http.GetAsync($"/api/series/{series}/points?from={T0 - 1}&to={T0 + 60_000}");
                if (!response.IsSuccessStatusCode)
                    return $"HTTP {(int)response.StatusCode}";
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var points = json.RootElement.GetProperty("points").EnumerateArray().Select(p => $"{p[0].GetInt64()}={p[1].GetDouble()}");
                return string.Join(" ", points);
            },
            got => got == want,
            $"{series} on hub {hub.HubId} to be {want}",
            TimeSpan.FromSeconds(30));
    }

    private static async Task<GridDigest> WaitForSameDigestAsync(HubProcess a, HubProcess b, long points)
    {
        GridDigest? last = null;
        await Eventually.WaitForAsync(
            async () =>
            {
                var left = (await a.Http.GetFromJsonAsync<GridDigest>("/api/grid/digest", Json.Options))!;
                var right = (await b.Http.GetFromJsonAsync<GridDigest>("/api/grid/digest", Json.Options))!;
                last = left;
                return (left, right);
            },
            pair => pair.left.Points == points && pair.left == pair.right,
            $"both hubs to hold the same {points} points",
            TimeSpan.FromSeconds(30));
        return last!;
    }
}
