using Grid.Edge.Hub.Hosting;
using Grid.Edge.Hub.Tests.Support;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Three hub processes (<see cref="ThreeHubGrid"/>) with C's wall clock 10 minutes ahead (the fault-injection hook
/// <see cref="ShiftedClock.Variable"/>). DESIGN.md section 5: a remote clock beyond now + MAX_SKEW never advances
/// ours; its delta is held back and released later, not dropped.
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class GridClockSkewTests(ITestOutputHelper output)
{
    private static readonly long T0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 1000 * 1000;
    private static readonly TimeSpan Ahead = TimeSpan.FromMinutes(10);
    private const int A = 0, B = 1, C = 2;

    [Fact]
    public async Task Deltas_of_a_hub_ten_minutes_ahead_are_held_not_applied_and_move_no_clock_until_the_skew_is_widened_then_every_hub_holds_them()
    {
        if (OperatingSystem.IsWindows())
            return; // the grid commands use the control socket, a Unix socket

        var ahead = new Dictionary<string, string> { [ShiftedClock.Variable] = ((int)Ahead.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var grid = await ThreeHubGrid.StartAsync(output.WriteLine, null, null, ahead);
        Assert.Contains($"clock is shifted by +{(int)Ahead.TotalSeconds} s", grid[C].Output, StringComparison.Ordinal);
        await grid.PublishAsync(A, "station", "coolant", [(T0, 1), (T0 + 1000, 2)]);
        await grid.FormAsync("clocks");
        await grid.PublishAsync(B, "van", "coolant", [(T0, 80)]);

        // Clocks behind C's are no problem for C: it holds A's and B's readings like everyone.
        await grid.ConvergedAsync("joined, C 10 min ahead");
        var fromAandB = grid.Written.Count;

        // C takes readings with the devices' times (three hours ago), not its clock: one series, and a device batch.
        await grid.PublishAsync(C, "boat", "coolant", [(T0, 60), (T0 + 1000, 61)]);
        await grid.PublishBatchAsync(C, "tank", [("level", T0, 0.5), ("flow", T0, 12)]);
        var fromC = grid.Written.Count - fromAandB;

        // C's deltas went out: C has heard vectors from A and B that lack exactly its points. And they arrived: A and
        // B each hold back every delta C signed, refusing none and applying none.
        await grid.WaitForLagAsync(C, [A, B], points: fromC);
        var authored = (await grid.LinksAsync(C)).DeltasAuthored;
        Assert.True(authored >= 2, $"C signed {authored} deltas for its two devices");
        await Eventually.WaitForAsync(
            async () => $"A holds back {(await grid.LinksAsync(A)).DeltasHeld}, B {(await grid.LinksAsync(B)).DeltasHeld}",
            held => held == $"A holds back {authored}, B {authored}",
            $"A and B to hold back the {authored} deltas C signed",
            ThreeHubGrid.HealWithin);

        // A later delta from another origin gets through: B's new reading reaches A (and C), C's stay out of A and B.
        await grid.PublishAsync(B, "van", "coolant", [(T0 + 2000, 81)]);
        var withoutC = fromAandB + 1;
        await Eventually.WaitForAsync(
            async () => (A: await grid.DigestAsync(A), B: await grid.DigestAsync(B), C: await grid.DigestAsync(C)),
            d => d.A.Points == withoutC && d.B.Points == withoutC && d.A.Digest == d.B.Digest && d.C.Points == grid.Written.Count,
            $"A and B to hold the {withoutC} points written at A and B, C all {grid.Written.Count}",
            ThreeHubGrid.HealWithin);
        var realNow = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var hub in new[] { A, B })
        {
            var links = await grid.LinksAsync(hub);
            output.WriteLine($"{ThreeHubGrid.Name(hub)} holds back {links.DeltasHeld} of C's {authored} deltas; its clock is {(links.ClockMs - realNow) / 1000.0:F1} s off the real time");
            Assert.Equal(authored, links.DeltasHeld);
            var fromHubC = Assert.Single(links.Peers, p => p.HubId == grid[C].HubId);
            Assert.Equal(0, fromHubC.DeltasIn);
            Assert.Equal(0, fromHubC.DeltasRefused);

            // Its clock was not dragged along: it signed B's new delta or took it in at about the real time.
            Assert.InRange(links.ClockMs, realNow - 60_000, realNow + 60_000);
        }

        var clockC = (await grid.LinksAsync(C)).ClockMs;
        output.WriteLine($"C's clock is {(clockC - realNow) / 1000.0:F1} s off the real time");
        var dragged = realNow + (long)(Ahead - TimeSpan.FromMinutes(1)).TotalMilliseconds;
        Assert.True(clockC >= dragged, "C's grid clock runs 10 min ahead");

        // An operator widens the tolerance on A and B to 15 min: C's deltas come in, and every hub holds the same.
        foreach (var hub in new[] { B, A })
        {
            await grid.StopAsync(hub);
            await grid.StartAsync(hub, "--grid-max-skew", "900");
        }

        await grid.ConvergedAsync("A and B restarted with --grid-max-skew 900");
        foreach (var hub in new[] { A, B })
        {
            // Within the tolerance now, C's deltas are applied and its clock is taken in.
            var links = await grid.LinksAsync(hub);
            output.WriteLine($"{ThreeHubGrid.Name(hub)} with --grid-max-skew 900 holds back {links.DeltasHeld} deltas; its clock is {(links.ClockMs - realNow) / 1000.0:F1} s off the real time of the hold");
            Assert.Equal(0, links.DeltasHeld);
            Assert.True(links.ClockMs >= dragged, $"{ThreeHubGrid.Name(hub)} took C's clock in");
            Assert.Equal(new[] { (T0, 60.0), (T0 + 1000, 61.0) }, await grid.PointsAsync(hub, "boat/coolant", T0, T0 + 2000));
            Assert.Equal(new[] { (T0, 0.5) }, await grid.PointsAsync(hub, "tank/level", T0, T0 + 1));
            Assert.Equal(new[] { (T0, 12.0) }, await grid.PointsAsync(hub, "tank/flow", T0, T0 + 1));
        }
    }
}
