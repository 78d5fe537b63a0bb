using System.Diagnostics;
using Grid.Edge.Testing.Storage;
using Grid.Edge.Testing;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// The test suite's power-cut trial (tests/Grid.Edge.Testing/Storage/PowerLossTrial.cs) run many more times: a seeded workload, the
/// power cut at a random operation under the log (unsynced writes lost, the last one torn; SQLite at transaction
/// granularity), a store opened on what survived, every acknowledged reading looked for.
/// </summary>
internal static class PowerLossCommand
{
    public static async Task<int> RunAsync(int trials, int firstSeed)
    {
        using var folder = TempDirectory.InMemory();
        Console.WriteLine($"Power cuts: {trials:N0} trials from seed {firstSeed} (3 lanes of 4-11 appends and checkpoints each, the cut at a random operation or after the workload)");
        var watch = Stopwatch.StartNew();
        var problems = new List<PowerLossTrial.Result>();
        long acknowledged = 0, inWorkload = 0, ops = 0;
        for (var i = 0; i < trials; i++)
        {
            var seed = firstSeed + i;
            var trialFolder = Path.Combine(folder.Path, seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var result = await PowerLossTrial.RunAsync(seed, trialFolder);
            Directory.Delete(trialFolder, recursive: true);
            acknowledged += result.Acknowledged;
            ops += result.Ops;
            inWorkload += result.CutAt <= result.Ops ? 1 : 0;
            if (result.Problem is not null)
            {
                problems.Add(result);
                Console.WriteLine($"  seed {seed}, cut at operation {result.CutAt}: {result.Problem}");
            }

            if ((i + 1) % 1000 == 0)
                Console.WriteLine($"  {i + 1:N0} trials, {problems.Count} with a problem, {watch.Elapsed.TotalSeconds:0} s");
        }

        Console.WriteLine();
        Console.WriteLine("| trials | cut inside the workload | operations under the log | acknowledged readings | acknowledged readings lost | stores that did not open | time |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| {trials:N0} | {inWorkload:N0} | {ops:N0} | {acknowledged:N0} | {problems.Count(p => !p.Problem!.StartsWith("the store did not open", StringComparison.Ordinal)):N0} trials | {problems.Count(p => p.Problem!.StartsWith("the store did not open", StringComparison.Ordinal)):N0} | {watch.Elapsed.TotalSeconds:0} s |");
        return problems.Count == 0 ? 0 : 1;
    }
}
