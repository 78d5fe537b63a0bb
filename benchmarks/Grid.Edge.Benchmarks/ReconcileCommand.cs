using System.Diagnostics;
using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// DESIGN.md W8 "no log" case, the pure part: two sets of N delta ids (timestamp, SHA-256) that differ by d items,
/// half missing on each side, reconciled with the range-based protocol; round trips, bytes both ways, and their
/// ratio to the ideal (the d missing ids, 32 bytes each). In-process, no network: the protocol's own cost.
/// </summary>
internal static class ReconcileCommand
{
    public static int Run(int items)
    {
        Console.WriteLine($"Range-based reconciliation of {items:N0} items, {RangeReconciler.Buckets} buckets a range");
        Console.WriteLine("| missing d | round trips | bytes | bytes / (d x 32) | ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        var random = new Random(15);
        var all = new ReconcileItem[items];
        Span<byte> id = stackalloc byte[32];
        var t = 1_795_341_600_000UL << 16;
        for (var i = 0; i < items; i++)
        {
            random.NextBytes(id);
            t += (ulong)random.Next(1, 1 << 20);
            all[i] = new ReconcileItem(t, Hash256.Read(id));
        }

        foreach (var d in new[] { 0, 1, 100, 10_000 })
        {
            var missing = Enumerable.Range(0, d).Select(_ => random.Next(items)).Distinct().ToHashSet();
            while (missing.Count < d)
                missing.Add(random.Next(items));
            var a = all.Where((_, i) => !missing.Contains(i) || i % 2 == 0);
            var b = all.Where((_, i) => !missing.Contains(i) || i % 2 == 1);
            var watch = Stopwatch.StartNew();
            var initiator = new RangeReconciler(a);
            var peer = new RangeReconciler(b);
            var have = new List<Hash256>();
            var need = new List<Hash256>();
            long bytes = 0;
            var rounds = 0;
            var query = initiator.Initiate();
            while (query.Length > 0)
            {
                rounds++;
                var response = peer.Respond(query, out var error) ?? throw new InvalidOperationException(error);
                bytes += query.Length + response.Length;
                query = initiator.Continue(response, have, need, out error) ?? throw new InvalidOperationException(error);
            }

            watch.Stop();
            if (have.Count + need.Count != d)
                throw new InvalidOperationException($"found {have.Count + need.Count} differences, expected {d}");
            var ratio = d == 0 ? "-" : $"{bytes / (d * 32.0):F2}";
            Console.WriteLine($"| {d:N0} | {rounds} | {bytes:N0} | {ratio} | {watch.ElapsedMilliseconds:N0} |");
        }

        return 0;
    }
}
