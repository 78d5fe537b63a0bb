using System.Diagnostics;
using System.Globalization;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Net;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Seeded chaos over three hub processes (<see cref="ThreeHubGrid"/>: a fault proxy per pair). A seed gives a schedule
/// of steps: splits into any partition of A, B and C, SIGKILLs and restarts, and writes at random running hubs (new
/// readings, late data, one reading written at two hubs, conflicting values, device batches, a burst). Each split,
/// kill and restart waits until the links are exactly what it makes them, so the writes land on the sides the
/// schedule says. Then every hub is started, every link restored, and within 30 s each hub must hold exactly the
/// distinct (series, time) pairs written, with the same winners (equal digests), each a value written there.
/// </summary>
/// <remarks>
/// The suite runs <see cref="SuiteRuns"/> schedules of <see cref="SuiteSteps"/> steps from a random seed; each seed is in
/// the test's name, its output and any failure. <c>GRID_CHAOS_SEED=&lt;n&gt;</c> runs that schedule again;
/// <c>GRID_CHAOS_RUNS=&lt;k&gt;</c> runs k schedules (seeds n, n + 1, ...) and <c>GRID_CHAOS_STEPS=&lt;s&gt;</c> makes
/// them longer, for a soak:
/// <c>GRID_CHAOS_RUNS=50 GRID_CHAOS_STEPS=20 dotnet test tests/Grid.Edge.Hub.Tests -c Release --no-build --filter "FullyQualifiedName~GridChaos"</c>.
/// </remarks>
[Collection(HubProcessGroup.Name)]
public sealed class GridChaosTests(ITestOutputHelper output)
{
    public const string SeedVariable = "GRID_CHAOS_SEED";
    public const string RunsVariable = "GRID_CHAOS_RUNS";
    public const string StepsVariable = "GRID_CHAOS_STEPS";
    private const int SuiteRuns = 2;
    private const int SuiteSteps = 12;
    private static readonly long T0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 1000 * 1000;

    /// <summary>The seeds to run: from the environment, or <see cref="SuiteRuns"/> from a random first one.</summary>
    public static TheoryData<int> Seeds()
    {
        var seedText = Environment.GetEnvironmentVariable(SeedVariable);
        var runsText = Environment.GetEnvironmentVariable(RunsVariable);
        var first = string.IsNullOrWhiteSpace(seedText) ? Random.Shared.Next(1, 1_000_000)
            : int.TryParse(seedText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed) ? seed
            : throw new ArgumentException($"{SeedVariable} '{seedText}' is not a whole number");
        var runs = string.IsNullOrWhiteSpace(runsText) ? (string.IsNullOrWhiteSpace(seedText) ? SuiteRuns : 1)
            : int.TryParse(runsText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count
            : throw new ArgumentException($"{RunsVariable} '{runsText}' is not a number of runs (1 or more)");
        var seeds = new TheoryData<int>();
        for (var run = 0; run < runs; run++)
            seeds.Add(unchecked(first + run));
        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds), DisableDiscoveryEnumeration = true)]
    public async Task A_seeded_schedule_of_splits_kills_and_writes_heals_to_the_same_content_on_every_hub(int seed)
    {
        if (OperatingSystem.IsWindows())
            return; // the grid commands use the control socket, a Unix socket

        var steps = Environment.GetEnvironmentVariable(StepsVariable) is { Length: > 0 } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : throw new ArgumentException($"{StepsVariable} '{text}' is not a number of steps (1 or more)")
            : SuiteSteps;
        var schedule = Schedule(seed, steps);
        var again = steps == SuiteSteps ? $"{SeedVariable}={seed}" : $"{SeedVariable}={seed} {StepsVariable}={steps}";
        output.WriteLine($"Seed {seed} ({again} runs it again): {schedule.Count} steps");
        var clock = Stopwatch.StartNew();
        var at = "starting the hubs";
        ThreeHubGrid? grid = null;
        try
        {
            grid = await ThreeHubGrid.StartAsync(output.WriteLine);
            at = "forming the grid";
            await grid.FormAsync($"chaos-{seed}", overHttp: true);
            output.WriteLine($"three hubs in one grid after {clock.Elapsed.TotalSeconds:F1} s");
            for (var i = 0; i < schedule.Count; i++)
            {
                at = $"step {i + 1}, {schedule[i]}";
                var stepClock = Stopwatch.StartNew();
                await RunAsync(grid, schedule[i]);
                output.WriteLine($"{i + 1,3}. {schedule[i]} ({stepClock.Elapsed.TotalSeconds:F1} s)");
            }

            at = "healing";
            var heal = Stopwatch.StartNew();
            for (var hub = 0; hub < 3; hub++)
            {
                if (!grid.IsRunning(hub))
                    await grid.StartAsync(hub);
            }

            grid.AB.Restore();
            grid.AC.Restore();
            grid.BC.Restore();
            await grid.WaitForLinksAsync([(0, 1), (0, 2), (1, 2)]);
            output.WriteLine($"healed: every hub up, every link up after {heal.Elapsed.TotalSeconds:F1} s");
            await grid.ConvergedAsync($"seed {seed}");
            await HoldsWhatWasWrittenAsync(grid);
            output.WriteLine($"Seed {seed}: {grid.Written.Count} points in {grid.Written.Keys.Select(k => k.Series).Distinct().Count()} series alike on three hubs, {heal.Elapsed.TotalSeconds:F1} s after the heal; run took {clock.Elapsed.TotalSeconds:F1} s");
        }
        catch (Exception e)
        {
            if (grid is not null)
                output.WriteLine(grid.Tails(40));
            throw new Xunit.Sdk.XunitException(
                $"Seed {seed} failed at {at} after {clock.Elapsed.TotalSeconds:F1} s ({again} runs it again): {e.Message}\nSchedule:\n{string.Join("\n", schedule.Select((s, i) => $"{i + 1,3}. {s}"))}",
                e);
        }
        finally
        {
            if (grid is not null)
                await grid.DisposeAsync();
        }
    }

    /// <summary>A's points of every series written are exactly the times written, each with one of the values written there (the digests say the others hold the same).</summary>
    private static async Task HoldsWhatWasWrittenAsync(ThreeHubGrid grid)
    {
        foreach (var series in grid.Written.GroupBy(w => w.Key.Series))
        {
            var times = series.Select(w => w.Key.T).Order().ToList();
            var held = await grid.PointsAsync(0, series.Key, times[0], times[^1] + 1);
            Assert.Equal(times, held.Select(p => p.T));
            foreach (var (t, v) in held)
                Assert.True(grid.Written[(series.Key, t)].Contains(v), $"{series.Key} at {t} holds {v}, which was never written there");
        }
    }

    private static async Task RunAsync(ThreeHubGrid grid, Step step)
    {
        switch (step)
        {
            case Step.Split split:
                SetLink(grid, split, 0, 1);
                SetLink(grid, split, 0, 2);
                SetLink(grid, split, 1, 2);
                break;
            case Step.Kill kill:
                await grid.KillAsync(kill.Hub);
                break;
            case Step.Restart restart:
                await grid.StartAsync(restart.Hub);
                break;
            case Step.Write write:
                await grid.PublishAsync(write.Hub, write.Device, write.Metric, write.Points);
                return;
            case Step.Twice twice:
                await grid.PublishAsync(twice.First, twice.Device, twice.Metric, [(twice.T, twice.FirstValue)]);
                await grid.PublishAsync(twice.Second, twice.Device, twice.Metric, [(twice.T, twice.SecondValue)]);
                return;
            case Step.Batch batch:
                await grid.PublishBatchAsync(batch.Hub, batch.Device, batch.Readings);
                return;
            case Step.Burst burst:
                await grid.PublishBurstAsync(burst.Hub, burst.Device, burst.Metric, burst.From, burst.Count);
                return;
        }

        // The links are exactly what the step makes them before anything is written.
        await grid.WaitForLinksAsync([.. Pairs.Where(p => grid.IsRunning(p.Item1) && grid.IsRunning(p.Item2) && step.Sides[p.Item1] == step.Sides[p.Item2])]);
    }

    private static readonly (int, int)[] Pairs = [(0, 1), (0, 2), (1, 2)];

    private static TcpFaultProxy Proxy(ThreeHubGrid grid, int a, int b) => (a, b) switch
    {
        (0, 1) => grid.AB,
        (0, 2) => grid.AC,
        _ => grid.BC,
    };

    private static void SetLink(ThreeHubGrid grid, Step.Split split, int a, int b)
    {
        if (split.Sides[a] == split.Sides[b])
            Proxy(grid, a, b).Restore();
        else
            Proxy(grid, a, b).Cut();
    }

    /// <summary>The schedule of a seed: a function of the seed alone, so a failure can be run again step for step.</summary>
    private static List<Step> Schedule(int seed, int length)
    {
        var random = new Random(seed);
        var running = new[] { true, true, true };
        var downFor = new int[3];
        int[] sides = [0, 0, 0];
        int[][] partitions = [[0, 0, 0], [0, 1, 1], [0, 1, 0], [0, 0, 1], [0, 1, 2]];
        string[] devices = ["pump", "tank", "van"];
        string[] metrics = ["flow", "level", "temp"];
        var steps = new List<Step>();

        // Every schedule has a split and a kill somewhere in its first half; the rest falls as the dice say.
        var splitBy = random.Next(length / 2);
        var killBy = random.Next(length / 2);
        int Any() => Enumerable.Range(0, 3).Where(h => running[h]).OrderBy(_ => random.Next()).First();
        double Value() => random.Next(0, 4000) / 4.0;
        long Recent() => T0 + (random.Next(0, 600) * 1000L);
        while (steps.Count < length)
        {
            // A hub down for three steps comes back: kills are short outages, and the heal need not wait out long backoffs.
            if (Enumerable.Range(0, 3).FirstOrDefault(h => !running[h] && downFor[h] >= 3, -1) is var overdue and >= 0)
            {
                running[overdue] = true;
                steps.Add(new Step.Restart(overdue, [.. sides]));
                continue;
            }

            for (var h = 0; h < 3; h++)
                downFor[h] = running[h] ? 0 : downFor[h] + 1;
            var roll = random.Next(100);
            var device = devices[random.Next(devices.Length)];
            var metric = metrics[random.Next(metrics.Length)];
            Step step;
            if (steps.Count >= splitBy && !steps.OfType<Step.Split>().Any())
                roll = 0;
            else if (steps.Count >= killBy && !steps.OfType<Step.Kill>().Any())
                roll = 20;
            if (roll < 17)
            {
                var next = partitions.Where(p => !p.SequenceEqual(sides)).ElementAt(random.Next(partitions.Length - 1));
                sides = next;
                step = new Step.Split(next);
            }
            else if (roll < 27 && running.Count(r => r) >= 2)
            {
                var hub = Any();
                running[hub] = false;
                step = new Step.Kill(hub, [.. sides]);
            }
            else if (roll < 35 && running.Any(r => !r))
            {
                var hub = Enumerable.Range(0, 3).First(h => !running[h]);
                running[hub] = true;
                step = new Step.Restart(hub, [.. sides]);
            }
            else if (roll < 45)
            {
                var days = random.Next(1, 30);
                step = new Step.Write(Any(), device, metric, "late data", [.. Enumerable.Range(0, random.Next(1, 4)).Select(i => (T0 - (days * 86_400_000L) + (i * 1000L), Value()))]);
            }
            else if (roll < 62 && running.Count(r => r) >= 2)
            {
                var first = Any();
                var second = Enumerable.Range(0, 3).Where(h => running[h] && h != first).OrderBy(_ => random.Next()).First();
                var value = Value();
                step = new Step.Twice(first, second, device, metric, Recent(), value, random.Next(2) == 0 ? value : value + 0.5);
            }
            else if (roll < 72)
            {
                var t = Recent();
                step = new Step.Batch(Any(), device, [.. metrics.Where(_ => random.Next(3) > 0).DefaultIfEmpty(metric).Select(m => (m, t, Value()))]);
            }
            else if (roll < 76)
            {
                step = new Step.Burst(Any(), device, metric, T0 + (random.Next(0, 3600) * 1000L), random.Next(500, 2001));
            }
            else
            {
                var start = Recent();
                step = new Step.Write(Any(), device, metric, "new readings", [.. Enumerable.Range(0, random.Next(1, 6)).Select(i => (start + (i * 1000L), Value()))]);
            }

            steps.Add(step);
        }

        return steps;
    }

    /// <summary>One step of a schedule; <see cref="Sides"/> is the partition in force (hubs on one side are linked).</summary>
    private abstract record Step(int[] Sides)
    {
        public sealed record Split(int[] To) : Step(To)
        {
            public override string ToString() =>
                To.Distinct().Count() == 1 ? "split: none (every link restored)"
                : "split: " + string.Join(" | ", Enumerable.Range(0, 3).GroupBy(h => To[h]).Select(g => string.Concat(g.Select(ThreeHubGrid.Name))));
        }

        public sealed record Kill(int Hub, int[] In) : Step(In)
        {
            public override string ToString() => $"SIGKILL {ThreeHubGrid.Name(Hub)}";
        }

        public sealed record Restart(int Hub, int[] In) : Step(In)
        {
            public override string ToString() => $"restart {ThreeHubGrid.Name(Hub)}";
        }

        public sealed record Write(int Hub, string Device, string Metric, string What, (long T, double V)[] Points) : Step([])
        {
            public override string ToString() => $"{What} at {ThreeHubGrid.Name(Hub)}: {Device}/{Metric} {Describe(Points)}";
        }

        /// <summary>One (series, time) written at two hubs: the same value (one reading stored twice) or two (a conflict).</summary>
        public sealed record Twice(int First, int Second, string Device, string Metric, long T, double FirstValue, double SecondValue) : Step([])
        {
            public override string ToString() =>
                $"{(FirstValue == SecondValue ? "the same reading" : "conflicting values")} at {ThreeHubGrid.Name(First)} and {ThreeHubGrid.Name(Second)}: {Device}/{Metric} {Describe([(T, FirstValue), (T, SecondValue)])}";
        }

        public sealed record Batch(int Hub, string Device, (string Metric, long T, double V)[] Readings) : Step([])
        {
            public override string ToString() => $"device batch at {ThreeHubGrid.Name(Hub)}: {Device} {string.Join(", ", Readings.Select(r => $"{r.Metric} T0{Offset(r.T)}={r.V.ToString(CultureInfo.InvariantCulture)}"))}";
        }

        public sealed record Burst(int Hub, string Device, string Metric, long From, int Count) : Step([])
        {
            public override string ToString() => $"burst at {ThreeHubGrid.Name(Hub)}: {Device}/{Metric} {Count} points a second apart from T0{Offset(From)}";
        }

        private static string Describe((long T, double V)[] points) =>
            string.Join(", ", points.Select(p => $"T0{Offset(p.T)}={p.V.ToString(CultureInfo.InvariantCulture)}"));

        /// <summary>A time as T0 (three hours ago) + days and seconds: "T0+12 s", "T0-3 d+2 s".</summary>
        private static string Offset(long t)
        {
            var days = (long)Math.Floor((t - T0) / 86_400_000.0);
            var seconds = (t - T0 - (days * 86_400_000)) / 1000.0;
            return (days == 0 ? "" : $"{days:+0;-0} d") + (seconds == 0 && days != 0 ? "" : $"{seconds:+0.###;-0.###;+0} s");
        }
    }
}
