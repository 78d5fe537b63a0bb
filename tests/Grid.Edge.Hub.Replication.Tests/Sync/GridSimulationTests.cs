using System.Collections.Concurrent;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Replication.Tests.Sync;

/// <summary>Alone: the seeds take every core, and the link tests beside them wait on sockets and timers.</summary>
[CollectionDefinition(nameof(GridSimulationTests), DisableParallelization = true)]
public sealed class GridSimulationsAlone;

[Collection(nameof(GridSimulationTests))]
public class GridSimulationTests(ITestOutputHelper output)
{
    private const int ChaosSteps = 50;

    /// <summary>Seeds that once diverged (a refusal cached under too short a key lost a delta for good), replayed alone.</summary>
    [Theory]
    [InlineData(1074)]
    [InlineData(1152)]
    public void A_single_seed_replays_exactly(int seed)
    {
        var simulation = new GridSimulation(seed);
        simulation.Run(chaosSteps: ChaosSteps);
        var result = simulation.Check();
        Assert.True(result is null, result);
    }

    [Fact]
    public void Ten_thousand_seeded_runs_with_loss_duplication_reordering_corruption_partitions_restarts_and_forks_all_converge()
    {
        const int Seeds = 10_000;
        var failures = new ConcurrentBag<string>();
        long messages = 0, deltas = 0, rounds = 0, forked = 0, archived = 0;
        Parallel.For(0, Seeds, seed =>
        {
            var simulation = new GridSimulation(seed);
            try
            {
                simulation.Run(chaosSteps: ChaosSteps);
                if (simulation.Check() is { } failure)
                    failures.Add(failure);
            }
            catch (InvalidOperationException e)
            {
                failures.Add($"seed {seed}: {e.Message}");
            }

            Interlocked.Add(ref messages, simulation.Messages);
            Interlocked.Add(ref deltas, simulation.Deltas);
            Interlocked.Add(ref rounds, simulation.HealRounds);
            if (simulation.Forks > 0)
                Interlocked.Increment(ref forked);
            if (simulation.Archived)
                Interlocked.Increment(ref archived);
        });
        output.WriteLine($"{Seeds} seeds: {deltas} deltas, {messages} messages, {forked} runs with a fork, {archived} with the log on an archive, {rounds / (double)Seeds:F1} heal rounds on average");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {Seeds} runs diverged, e.g. {string.Join("; ", failures.OrderBy(f => f).Take(5))}");
        Assert.True(forked > Seeds / 50, $"only {forked} runs had a fork: the twin scenario is not exercised");
        Assert.True(deltas > Seeds * 5);
        Assert.InRange(archived, Seeds / 3, Seeds * 2 / 3);
    }
}
