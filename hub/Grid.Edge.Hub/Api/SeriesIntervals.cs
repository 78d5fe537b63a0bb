using System.Collections.Concurrent;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Api;

/// <summary>
/// How often a series normally reports: the median gap of its newest points. Dashboards call a value stale when
/// it is older than a few of these intervals. Estimates are cached for a minute per series.
/// </summary>
internal sealed class SeriesIntervals(ITimeSeriesStore store, TimeProvider time)
{
    private const int Samples = 17;
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<SeriesKey, (long IntervalMs, DateTimeOffset At)> _cache = new();

    /// <summary>The typical interval in ms, or null while a series has too few points to tell.</summary>
    public async ValueTask<long?> GetAsync(SeriesInfo series, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(series.Key, out var cached) && now - cached.At < CacheFor)
            return cached.IntervalMs > 0 ? cached.IntervalMs : null;
        var points = await store.ReadRangeAsync(series.Key, long.MinValue, series.LatestMs + 1, Samples, newestFirst: true, cancellationToken);
        var gaps = new List<long>(points.Count);
        for (var i = 1; i < points.Count; i++)
            gaps.Add(points[i - 1].TimestampMs - points[i].TimestampMs);
        gaps.Sort();
        var interval = gaps.Count >= 2 ? gaps[gaps.Count / 2] : 0;
        _cache[series.Key] = (interval, now);
        return interval > 0 ? interval : null;
    }
}
