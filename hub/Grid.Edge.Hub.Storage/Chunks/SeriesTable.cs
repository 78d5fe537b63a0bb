using System.Collections.Concurrent;
using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// What the store holds in memory: its series and the buffers of the buckets being written. Only the writer's
/// thread changes them; readers, checkpoints and retention look at them under <see cref="Gate"/>.
/// </summary>
internal sealed class SeriesTable(long bucketMs)
{
    private long _lastId;

    public long BucketMs { get; } = bucketMs;

    public Lock Gate { get; } = new();

    public ConcurrentDictionary<SeriesKey, SeriesState> Series { get; } = new();

    /// <summary>Series whose record changed since the last checkpoint wrote it (under <see cref="Gate"/>).</summary>
    public HashSet<SeriesState> Changed { get; } = [];

    /// <summary>The start of the bucket holding <paramref name="t"/>.</summary>
    public long BucketOf(long t) => TimeBuckets.StartOf(t, BucketMs);

    /// <summary>Takes in a series read from the chunk store's catalogue.</summary>
    public void Load(SeriesState state)
    {
        Series[state.Info.Key] = state;
        _lastId = Math.Max(_lastId, state.Id);
    }

    /// <summary>A series not seen before (on the writer's thread, under <see cref="Gate"/>).</summary>
    public SeriesState Create(SeriesKey key, string unit, long firstMs, double value)
    {
        var state = new SeriesState(++_lastId, new SeriesInfo(key, unit, 0, firstMs, firstMs, value));
        Series[key] = state;
        return state;
    }
}
