using Grid.Edge.Hub.Storage.Compression;

namespace Grid.Edge.Hub.Storage.Aggregation;

/// <summary>The per-minute and per-hour summaries the store keeps beside each bucket's chunk.</summary>
internal static class Rollups
{
    /// <summary>Summaries of sorted points in buckets of <paramref name="size"/>, one per bucket that holds any.</summary>
    public static List<RollupEntry> Of(long[] times, double[] values, long size)
    {
        var entries = new List<RollupEntry>();
        for (var i = 0; i < times.Length;)
        {
            var start = TimeBuckets.StartOf(times[i], size);
            var acc = new Accumulator();
            var j = i;
            for (; j < times.Length && times[j] < start + size; j++)
                acc.Add(values[j]);
            entries.Add(new RollupEntry(start, acc.Count, acc.Sum, acc.Min, acc.Max, values[i], values[j - 1]));
            i = j;
        }

        return entries;
    }

    /// <summary>
    /// <paramref name="earlier"/> and <paramref name="later"/> (whose entries all start at or after the last of
    /// earlier) summed into buckets of <paramref name="size"/>: minutes written in two parts become one minute, and
    /// minutes become hours.
    /// </summary>
    public static List<RollupEntry> Merge(List<RollupEntry> earlier, List<RollupEntry> later, long size)
    {
        var merged = new List<RollupEntry>(earlier.Count + later.Count);
        foreach (var entry in earlier.Concat(later))
        {
            var start = TimeBuckets.StartOf(entry.Start, size);
            if (merged.Count > 0 && merged[^1].Start == start)
            {
                var last = merged[^1];
                merged[^1] = new RollupEntry(start, last.Count + entry.Count, last.Sum + entry.Sum, Math.Min(last.Min, entry.Min), Math.Max(last.Max, entry.Max), last.First, entry.Last);
            }
            else
            {
                merged.Add(entry with { Start = start });
            }
        }

        return merged;
    }
}
