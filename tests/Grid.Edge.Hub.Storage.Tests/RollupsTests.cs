using CsCheck;
using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Compression;

namespace Grid.Edge.Hub.Storage.Tests;

/// <summary>The pure summaries beside every chunk, against sums worked out point by point.</summary>
public sealed class RollupsTests
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z

    // Sorted, distinct times over a few hours around T0 (some before 1970 too), each with a value.
    private static readonly Gen<(long[] Times, double[] Values)> Points =
        Gen.Select(Gen.Long[-4 * TimeBuckets.HourMs, 4 * TimeBuckets.HourMs].Array[0, 300], Gen.Bool)
            .Select((offsets, before1970) =>
            {
                var times = offsets.Select(o => (before1970 ? -T0 : T0) + o).Distinct().Order().ToArray();
                var values = times.Select(t => (double)(t % 1000) / 7).ToArray();
                return (times, values);
            });

    [Theory]
    [InlineData(-1, 60_000, -60_000)]
    [InlineData(-60_000, 60_000, -60_000)]
    [InlineData(-60_001, 60_000, -120_000)]
    [InlineData(0, 60_000, 0)]
    [InlineData(59_999, 60_000, 0)]
    [InlineData(long.MinValue, 3_600_000, long.MinValue)]
    [InlineData(long.MinValue + 5, 3_600_000, long.MinValue)]
    public void A_bucket_starts_at_or_before_its_time_also_before_1970(long t, long size, long start) =>
        Assert.Equal(start, TimeBuckets.StartOf(t, size));

    [Fact]
    public void Every_time_falls_in_the_bucket_that_starts_at_or_before_it_and_ends_after_it() =>
        Gen.Select(Gen.Long[-10 * T0, 10 * T0], Gen.OneOf(Gen.Const(TimeBuckets.MinuteMs), Gen.Const(TimeBuckets.HourMs), Gen.Const(7 * TimeBuckets.HourMs))).Sample((t, size) =>
        {
            var start = TimeBuckets.StartOf(t, size);
            var first = TimeBuckets.FirstStartAtOrAfter(t, size);
            return start <= t && t < start + size && start % size == 0
                && first >= t && first - t < size && first % size == 0;
        });

    [Fact]
    public void Rollups_hold_count_sum_min_max_first_and_last_of_each_bucket() =>
        Gen.Select(Points, Gen.OneOf(Gen.Const(TimeBuckets.MinuteMs), Gen.Const(TimeBuckets.HourMs))).Sample((points, size) =>
        {
            var expected = Oracle(points.Times, points.Values, size);
            var actual = Rollups.Of(points.Times, points.Values, size);
            Assert.Equal(expected, actual);
        });

    [Fact]
    public void Minutes_written_in_two_parts_merge_into_the_minutes_and_hours_of_the_whole() =>
        Gen.Select(Points, Gen.Int[0, 300]).Sample((points, cut) =>
        {
            cut = Math.Min(cut, points.Times.Length);
            var earlier = Rollups.Of(points.Times[..cut], points.Values[..cut], TimeBuckets.MinuteMs);
            var later = Rollups.Of(points.Times[cut..], points.Values[cut..], TimeBuckets.MinuteMs);
            var minutes = Rollups.Merge(earlier, later, TimeBuckets.MinuteMs);
            Assert.Equal(Oracle(points.Times, points.Values, TimeBuckets.MinuteMs), minutes, Close);
            Assert.Equal(Oracle(points.Times, points.Values, TimeBuckets.HourMs), Rollups.Merge([], minutes, TimeBuckets.HourMs), Close);
        });

    // Sums added in another order may differ in the last bits.
    private static bool Close(RollupEntry a, RollupEntry b) =>
        a.Start == b.Start && a.Count == b.Count && a.Min == b.Min && a.Max == b.Max && a.First == b.First && a.Last == b.Last
        && Math.Abs(a.Sum - b.Sum) <= 1e-9 * Math.Max(1, Math.Abs(a.Sum));

    private static List<RollupEntry> Oracle(long[] times, double[] values, long size) =>
        times.Select((t, i) => (Start: (long)Math.Floor(t / (double)size) * size, T: t, V: values[i]))
            .GroupBy(p => p.Start)
            .OrderBy(g => g.Key)
            .Select(g => new RollupEntry(g.Key, g.Count(), g.Sum(p => p.V), g.Min(p => p.V), g.Max(p => p.V), g.MinBy(p => p.T).V, g.MaxBy(p => p.T).V))
            .ToList();
}
