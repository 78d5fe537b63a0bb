namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The full content of one raw bucket of one series while it is being written: points sorted by time with
/// unique timestamps, and their write stamps. Appends in time order are O(1); late points are inserted in place.
/// A point's stamp is kept only when it is not the first-write stamp of the bucket's usual origin, which is
/// almost never: corrections and points from other origins.
/// </summary>
internal sealed class BucketBuffer(long start)
{
    private const long MinuteMs = 60_000;
    private readonly List<long> _times = [];
    private readonly List<double> _values = [];
    private Dictionary<long, PointStamp>? _stamps;

    // Per-minute aggregates kept up to date by appends in time order, so that aggregated reads of a bucket still
    // being written need not scan its points; a late point or a changed value makes them be recomputed once.
    private Accumulator[]? _minutes;
    private bool _minutesStale;

    public long Start { get; } = start;

    public int Count => _times.Count;

    /// <summary>The origin of points without a kept stamp; -1 until the first point.</summary>
    public int UsualOrigin { get; private set; } = -1;

    /// <summary>Changed since it was last written to the chunk store.</summary>
    public bool Dirty { get; set; }

    public void Load(long[] times, double[] values, ChunkStampSet stamps)
    {
        _times.AddRange(times);
        _values.AddRange(values);
        UsualOrigin = stamps.UsualOrigin;
        foreach (var (index, stamp) in stamps.Kept)
            (_stamps ??= [])[times[index]] = stamp;
    }

    /// <summary>Finds the point at <paramref name="t"/>; the common case, a point past the last one, is O(1).</summary>
    public bool TryFind(long t, out double value, out PointStamp stamp)
    {
        var n = _times.Count;
        int index;
        if (n == 0 || t > _times[n - 1] || (index = _times.BinarySearch(t)) < 0)
        {
            value = 0;
            stamp = default;
            return false;
        }

        value = _values[index];
        stamp = _stamps is not null && _stamps.TryGetValue(t, out var kept) ? kept : PointStamp.FirstWrite(t, UsualOrigin);
        return true;
    }

    /// <summary>Puts a point in, replacing whatever is at its time; returns whether it was new.</summary>
    public bool Put(long t, double v, PointStamp stamp)
    {
        if (UsualOrigin < 0)
            UsualOrigin = stamp.Origin;
        if (stamp == PointStamp.FirstWrite(t, UsualOrigin))
            _stamps?.Remove(t);
        else
            (_stamps ??= [])[t] = stamp;

        var n = _times.Count;
        if (n == 0 || t > _times[n - 1])
        {
            _times.Add(t);
            _values.Add(v);
            if (_minutes is not null && !_minutesStale)
                _minutes[(t - Start) / MinuteMs].Add(v);
            return true;
        }

        _minutesStale = true;
        var index = _times.BinarySearch(t);
        if (index >= 0)
        {
            _values[index] = v;
            return false;
        }

        _times.Insert(~index, t);
        _values.Insert(~index, v);
        return true;
    }

    /// <summary>Adds the minutes in [from, to) (whole minutes) to <paramref name="add"/>, by minute start.</summary>
    public void AddMinutes(long from, long to, long bucketMs, Action<long, Accumulator> add)
    {
        if (_minutes is null || _minutesStale)
        {
            _minutes = new Accumulator[bucketMs / MinuteMs];
            for (var i = 0; i < _times.Count; i++)
                _minutes[(_times[i] - Start) / MinuteMs].Add(_values[i]);
            _minutesStale = false;
        }

        var first = Math.Max(0, (from - Start) / MinuteMs);
        var last = Math.Min(_minutes.Length, (to - Start) / MinuteMs);
        for (var m = first; m < last; m++)
        {
            if (_minutes[m].Count > 0)
                add(Start + m * MinuteMs, _minutes[m]);
        }
    }

    /// <summary>Adds each point in [from, to) to <paramref name="add"/>.</summary>
    public void AddPoints(long from, long to, Action<long, double> add)
    {
        var index = _times.BinarySearch(from);
        for (var i = index >= 0 ? index : ~index; i < _times.Count && _times[i] < to; i++)
            add(_times[i], _values[i]);
    }

    public (long[] Times, double[] Values) Snapshot() => (_times.ToArray(), _values.ToArray());

    /// <summary>The kept stamps by point index, for writing the chunk (times as returned by <see cref="Snapshot"/>).</summary>
    public ChunkStampSet SnapshotStamps(long[] times)
    {
        if (_stamps is null || _stamps.Count == 0)
            return new ChunkStampSet(Math.Max(0, UsualOrigin), []);
        var kept = new List<(int, PointStamp)>(_stamps.Count);
        foreach (var (t, stamp) in _stamps)
        {
            var index = Array.BinarySearch(times, t);
            if (index >= 0)
                kept.Add((index, stamp));
        }

        kept.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return new ChunkStampSet(Math.Max(0, UsualOrigin), kept);
    }
}

/// <summary>A point's write stamp inside the store: the origin by its number in the store's origin table.</summary>
internal readonly record struct PointStamp(long Hlc, int Origin)
{
    public static PointStamp FirstWrite(long t, int origin) => new(Versions.WriteStamp.HlcOf(t), origin);
}

/// <summary>The stamps of a chunk: the usual origin of its points and the stamps kept for the others, by index.</summary>
internal sealed record ChunkStampSet(int UsualOrigin, IReadOnlyList<(int Index, PointStamp Stamp)> Kept)
{
    public static readonly ChunkStampSet Local = new(0, []);
}
