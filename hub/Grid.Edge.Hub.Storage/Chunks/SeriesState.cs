using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>One series in memory: its record and the buffers of its buckets being written.</summary>
internal sealed class SeriesState(long id, SeriesInfo info)
{
    public long Id { get; } = id;

    /// <summary>The chunk store holds this series (loaded from it, or saved by a committed checkpoint).</summary>
    public bool Catalogued { get; set; }

    /// <summary>Replaced whole on change, so readers never see a half-updated record.</summary>
    public SeriesInfo Info { get; private set; } = info;

    /// <summary>Buffers of the buckets being written; guarded by the store's lock.</summary>
    public Dictionary<long, BucketBuffer> Buckets { get; } = [];

    // Changes of a group of appends collect here and become one new Info at the end of the group: a series
    // taking a thousand readings in one message costs one record, not a thousand.
    private bool _pending;
    private long _count;
    private long _firstMs;
    private long _latestMs;
    private double _latestValue;

    /// <summary>Takes in a stored reading; true when it is the series' first change since it last published.</summary>
    public bool Apply(Reading reading, bool added)
    {
        var first = !_pending;
        if (first)
        {
            (_count, _firstMs, _latestMs, _latestValue) = (Info.PointCount, Info.FirstMs, Info.LatestMs, Info.LatestValue);
            _pending = true;
        }

        _count += added ? 1 : 0;
        _firstMs = Math.Min(_firstMs, reading.TimestampMs);
        if (reading.TimestampMs >= _latestMs)
            (_latestMs, _latestValue) = (reading.TimestampMs, reading.Value);
        return first;
    }

    /// <summary>Makes what <see cref="Apply"/> took in visible to readers.</summary>
    public void Publish()
    {
        if (!_pending)
            return;
        Info = Info with { PointCount = _count, FirstMs = _firstMs, LatestMs = _latestMs, LatestValue = _latestValue };
        _pending = false;
    }

    /// <summary>Forgets what <see cref="Apply"/> took in since the last <see cref="Publish"/> (the group was undone).</summary>
    public void Discard() => _pending = false;

    public void Dropped(long points, long? firstMs) =>
        Info = Info with { PointCount = Math.Max(0, Info.PointCount - points), FirstMs = firstMs ?? Info.LatestMs };
}
