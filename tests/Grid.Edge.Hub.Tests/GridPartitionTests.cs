using System.Net.Http.Json;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Tests.Support;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Three hubs as child processes, each pair linked through its own TCP fault proxy (the hubs dial only their
/// configured peers), split into A|BC, AB|C and A|B|C with writes on every side: late data, one reading written at
/// two hubs, a conflicting value, a burst, and a hub killed while it catches up. After each heal every hub holds
/// exactly the points written, with the same winners (equal digests).
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class GridPartitionTests(ITestOutputHelper output)
{
    private static readonly long T0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 1000 * 1000;
    private const int A = 0, B = 1, C = 2;

    [Fact]
    public async Task Three_hubs_split_every_way_with_writes_on_every_side_converge_to_the_same_content()
    {
        if (OperatingSystem.IsWindows())
            return; // the grid commands use the control socket, a Unix socket

        // A dials B and C, B dials C: one link per pair, each through its own proxy.
        await using var grid = await ThreeHubGrid.StartAsync(output.WriteLine);

        // History before the grid, then B and C join with codes from A.
        await grid.PublishAsync(A, "station", "coolant", [(T0, 1), (T0 + 1000, 2)]);
        await grid.PublishAsync(B, "van", "coolant", [(T0, 80)]);
        await grid.FormAsync("partitions");
        Assert.True(grid.AB.Connections > 0 && grid.AC.Connections > 0 && grid.BC.Connections > 0, "every pair links through its proxy");
        await grid.PublishAsync(C, "boat", "coolant", [(T0, 60)]);
        await grid.ConvergedAsync("joined");
        await grid.InSyncAsync();

        // A | BC: the same reading at B and C, a conflicting value at A and C, late data at A.
        grid.AB.Cut();
        grid.AC.Cut();
        await grid.WaitForLinksAsync([(B, C)]);
        await grid.PublishAsync(A, "station", "coolant", [(T0 + 2000, 3), (T0 - 86_400_000, -1)]);
        await grid.PublishAsync(A, "shared", "rpm", [(T0 + 500, 1000)]);
        await grid.PublishAsync(C, "shared", "rpm", [(T0 + 500, 1500)]);
        await grid.PublishAsync(B, "shared", "rpm", [(T0 + 600, 900)]);
        await grid.PublishAsync(C, "shared", "rpm", [(T0 + 600, 900)]);
        // A knows how far behind the hubs it cannot reach are: the three points it wrote since their last vectors.
        await grid.WaitForLagAsync(A, [B, C], points: 3);

        // Those readings are provisional at A, from the earliest of them (the late one) on; nothing else is.
        var provisional = await Eventually.WaitForAsync(
            async () => (await grid[A].Http.GetFromJsonAsync<GridProvisional>("/api/grid/provisional", Json.Options))!,
            p => p.Since.Count > 0,
            "A's provisional readings",
            ThreeHubGrid.HealWithin);
        Assert.Equal(new Dictionary<string, long> { ["station/coolant"] = T0 - 86_400_000, ["shared/rpm"] = T0 + 500 }, provisional!.Since);
        Assert.Equal(3, provisional.Points.Values.Sum());
        grid.AB.Restore();
        grid.AC.Restore();
        await grid.ConvergedAsync("A|BC healed");
        await grid.InSyncAsync();
        await Eventually.WaitForAsync(
            async () => (await grid[A].Http.GetFromJsonAsync<GridProvisional>("/api/grid/provisional", Json.Options))!.Since.Count,
            count => count == 0,
            "A's readings to be on other hubs",
            ThreeHubGrid.HealWithin);
        var winner = await grid.PointAsync(A, "shared/rpm", T0 + 500);
        Assert.Contains(winner, new[] { 1000.0, 1500.0 });
        foreach (var hub in new[] { A, B, C })
            Assert.Equal(winner, await grid.PointAsync(hub, "shared/rpm", T0 + 500));

        // AB | C: a burst at C meanwhile, and A is killed while it catches up from C, then started again.
        grid.AC.Cut();
        grid.BC.Cut();
        await grid.WaitForLinksAsync([(A, B)]);
        await grid.PublishAsync(B, "van", "coolant", [(T0 + 5000, 81)]);
        await grid.PublishBurstAsync(C, "boat", "rpm", T0, count: 6000);
        await grid.PublishAsync(A, "shared", "rpm", [(T0 + 600, 950)]);
        var before = grid.AC.Connections;
        grid.AC.Restore();
        grid.BC.Restore();
        await Eventually.WaitForAsync(() => Task.FromResult(grid.AC.Connections), n => n > before, "A to reconnect to C", ThreeHubGrid.HealWithin);
        await grid.KillAsync(A);
        await grid.StartAsync(A);
        await grid.ConvergedAsync("AB|C healed, A killed while catching up");

        // A | B | C: every hub alone, each writes, then all links come back.
        grid.AB.Cut();
        grid.AC.Cut();
        grid.BC.Cut();
        await grid.WaitForLinksAsync([]);
        await grid.PublishAsync(A, "station", "coolant", [(T0 + 3000, 4)]);
        await grid.PublishAsync(B, "van", "coolant", [(T0 + 6000, 82)]);
        await grid.PublishAsync(C, "boat", "coolant", [(T0 + 1000, 61)]);
        await grid.PublishBatchAsync(C, "tank", [("level", T0, 0.5), ("flow", T0, 12), ("level", T0 + 1000, 0.75)]); // one device delta
        await grid.PublishAsync(B, "shared", "rpm", [(T0 + 700, 1)]);
        await grid.PublishAsync(C, "shared", "rpm", [(T0 + 700, 2)]);
        grid.AB.Restore();
        grid.AC.Restore();
        grid.BC.Restore();
        await grid.ConvergedAsync("A|B|C healed");
        Assert.Equal(0.75, await grid.PointAsync(A, "tank/level", T0 + 1000));
        Assert.Equal(12, await grid.PointAsync(B, "tank/flow", T0));
    }
}
