using Grid.Edge.Hub.Storage;

namespace Grid.Edge.Hub.Derived;

/// <summary>
/// The stored points of one series over a span, read once for a whole batch of derivations, with range lookups by
/// binary search and sums by prefix sums (a week's backfill derives without a store query per reading).
/// </summary>
internal sealed class PointWindow
{
    private readonly long[] _times;
    private readonly double[] _values;
    private readonly double[] _prefix;

    public PointWindow(IReadOnlyList<DataPoint> points)
    {
        _times = new long[points.Count];
        _values = new double[points.Count];
        _prefix = new double[points.Count + 1];
        for (var i = 0; i < points.Count; i++)
        {
            _times[i] = points[i].TimestampMs;
            _values[i] = points[i].Value;
            _prefix[i + 1] = _prefix[i] + points[i].Value;
        }
    }

    public static async Task<PointWindow> ReadAsync(ITimeSeriesStore store, Protocol.Readings.SeriesKey series, long fromMs, long toMs, CancellationToken cancellationToken) =>
        new(store.TryGetSeries(series, out _) ? await store.ReadRangeAsync(series, fromMs, toMs, int.MaxValue, cancellationToken: cancellationToken) : []);

    /// <summary>Sum of the values with <c>from &lt;= t &lt; to</c>.</summary>
    public double Sum(long fromMs, long toMs)
    {
        var (lo, hi) = Bounds(fromMs, toMs);
        return _prefix[hi] - _prefix[lo];
    }

    /// <summary>The points with <c>from &lt;= t &lt; to</c>, in time order.</summary>
    public IEnumerable<DataPoint> Between(long fromMs, long toMs)
    {
        var (lo, hi) = Bounds(fromMs, toMs);
        for (var i = lo; i < hi; i++)
            yield return new DataPoint(_times[i], _values[i]);
    }

    private (int Lo, int Hi) Bounds(long fromMs, long toMs)
    {
        var lo = LowerBound(fromMs);
        return (lo, Math.Max(lo, LowerBound(toMs)));
    }

    private int LowerBound(long t)
    {
        var index = Array.BinarySearch(_times, t);
        if (index < 0)
            return ~index;
        while (index > 0 && _times[index - 1] == t)
            index--;
        return index;
    }
}
