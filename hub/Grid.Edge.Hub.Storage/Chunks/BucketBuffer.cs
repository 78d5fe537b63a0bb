using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Compression;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The full content of one raw bucket of one series while it is being written: points sorted by time with unique
/// timestamps, and their write stamps. What is already in the chunk store stays compressed (the sealed part, the
/// chunk as last written) and only points after it are kept as plain lists, so that a bucket filling up over an
/// hour costs a few bytes per point in memory, not sixteen. A late point into the sealed part opens it up.
/// Appends in time order are O(1). A point's stamp is kept only when it is not the first-write stamp of the
/// bucket's usual origin, which is almost never: corrections and points from other origins.
/// </summary>
internal sealed class BucketBuffer(long start)
{
    private const long MinuteMs = 60_000;
    private List<long> _times = [];
    private List<double> _values = [];
    private Dictionary<long, PointStamp>? _stamps;

    // The chunk parts as last written (or loaded): points up to _sealedLast; the lists hold only later points.
    private IReadOnlyList<byte[]>? _sealed;
    private int _sealedCount;
    private long _sealedLast = long.MinValue;

    // Per-minute aggregates kept up to date by appends in time order, so that aggregated reads of a bucket still
    // being written need not scan its points; a late point or a changed value makes them be recomputed once.
    private Accumulator[]? _minutes;
    private bool _minutesStale;

    public long Start { get; } = start;

    public int Count => _sealedCount + _times.Count;

    /// <summary>Points held as plain lists (not yet written, or opened up by a late point).</summary>
    public int OpenCount => _times.Count;

    /// <summary>The origin of points without a kept stamp; -1 until the first point.</summary>
    public int UsualOrigin { get; private set; } = -1;

    /// <summary>Changed since it was last written to the chunk store.</summary>
    public bool Dirty { get; set; }

    private long Last => _times.Count > 0 ? _times[^1] : _sealedLast;

    /// <summary>Takes a bucket's stored chunk parts (oldest first) as the sealed part of an empty buffer.</summary>
    public void LoadSealed(IReadOnlyList<byte[]> parts)
    {
        if (parts.Count == 0)
            return;
        var (times, _, stamps) = DecodeParts(parts);
        UsualOrigin = stamps.UsualOrigin;
        if (times.Length == 0)
            return;
        _sealed = parts;
        _sealedCount = times.Length;
        _sealedLast = times[^1];
    }

    /// <summary>The buffer's whole content has just been written as <paramref name="parts"/>: keep those instead of lists.</summary>
    public void Seal(IReadOnlyList<byte[]> parts)
    {
        _sealedCount = Count;
        _sealedLast = Last;
        _sealed = _sealedCount > 0 ? parts : null;
        _times = [];
        _values = [];
        _stamps = null;
    }

    /// <summary>Only points after the written parts changed: they can be written as parts of their own.</summary>
    public bool OnlyAppended => _sealed is not null && _times.Count > 0;

    /// <summary>How many chunk parts the bucket has in the store (as far as this buffer knows them).</summary>
    public int SealedParts => _sealed?.Count ?? 0;

    public IReadOnlyList<byte[]> SealedData => _sealed ?? [];

    /// <summary>The points after the written parts, with their kept stamps (see <see cref="OnlyAppended"/>).</summary>
    public (long[] Times, double[] Values, ChunkStampSet Stamps) OpenSnapshot()
    {
        long[] times = [.. _times];
        return (times, [.. _values], StampsOf(times, []));
    }

    /// <summary>The stamps of <paramref name="times"/>: those already indexed, and the kept ones of the open points.</summary>
    private ChunkStampSet StampsOf(long[] times, List<(int, PointStamp)> kept)
    {
        if (_stamps is not null)
        {
            foreach (var (t, stamp) in _stamps)
            {
                var index = Array.BinarySearch(times, t);
                if (index >= 0)
                    kept.Add((index, stamp));
            }
        }

        kept.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return new ChunkStampSet(Math.Max(0, UsualOrigin), kept);
    }

    /// <summary>Parts decoded into one run, their kept stamps re-indexed; parts of another usual origin keep all stamps.</summary>
    public static (long[] Times, double[] Values, ChunkStampSet Stamps) DecodeParts(IReadOnlyList<byte[]> parts)
    {
        if (parts.Count == 1)
            return ChunkCodec.DecodeWithStamps(parts[0]);
        var decoded = parts.Select(part => ChunkCodec.DecodeWithStamps(part)).ToList();
        var total = decoded.Sum(d => d.Timestamps.Length);
        var times = new long[total];
        var values = new double[total];
        var kept = new List<(int, PointStamp)>();
        var usual = decoded[0].Stamps.UsualOrigin;
        var at = 0;
        foreach (var (partTimes, partValues, stamps) in decoded)
        {
            partTimes.CopyTo(times, at);
            partValues.CopyTo(values, at);
            var explicitStamps = stamps.Kept.ToDictionary(k => k.Index, k => k.Stamp);
            for (var i = 0; i < partTimes.Length; i++)
            {
                if (explicitStamps.TryGetValue(i, out var stamp))
                    kept.Add((at + i, stamp));
                else if (stamps.UsualOrigin != usual)
                    kept.Add((at + i, PointStamp.FirstWrite(partTimes[i], stamps.UsualOrigin)));
            }

            at += partTimes.Length;
        }

        return (times, values, new ChunkStampSet(usual, kept));
    }

    /// <summary>Finds the point at <paramref name="t"/>; the common case, a point past the last one, is O(1).</summary>
    public bool TryFind(long t, out double value, out PointStamp stamp)
    {
        value = 0;
        stamp = default;
        if (Count == 0 || t > Last)
            return false;
        if (t <= _sealedLast)
            Unseal();
        var index = _times.BinarySearch(t);
        if (index < 0)
            return false;
        value = _values[index];
        stamp = _stamps is not null && _stamps.TryGetValue(t, out var kept) ? kept : PointStamp.FirstWrite(t, UsualOrigin);
        return true;
    }

    /// <summary>Puts a point in, replacing whatever is at its time; returns whether it was new.</summary>
    public bool Put(long t, double v, PointStamp stamp)
    {
        if (_sealed is not null && t <= _sealedLast)
            Unseal();
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

    /// <summary>Takes out the point at <paramref name="t"/> (undoing a put that added it).</summary>
    public void Remove(long t)
    {
        if (_sealed is not null && t <= _sealedLast)
            Unseal();
        var index = _times.BinarySearch(t);
        if (index < 0)
            return;
        _times.RemoveAt(index);
        _values.RemoveAt(index);
        _stamps?.Remove(t);
        _minutesStale = true;
    }

    /// <summary>Puts back the flags a group of puts changed (see <see cref="Remove"/>).</summary>
    public void RestoreFlags(bool dirty, int usualOrigin)
    {
        Dirty = dirty;
        UsualOrigin = usualOrigin;
    }

    /// <summary>Adds the minutes in [from, to) (whole minutes) to <paramref name="add"/>, by minute start.</summary>
    public void AddMinutes(long from, long to, long bucketMs, Action<long, Accumulator> add)
    {
        if (_minutes is null || _minutesStale)
        {
            _minutes = new Accumulator[bucketMs / MinuteMs];
            ForEachPoint(long.MinValue, long.MaxValue, (t, v) => _minutes[(t - Start) / MinuteMs].Add(v));
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

    /// <summary>Adds each point in [from, to) to <paramref name="add"/>, in time order.</summary>
    public void ForEachPoint(long from, long to, Action<long, double> add)
    {
        if (_sealed is not null && from <= _sealedLast)
        {
            var (times, values, _) = DecodeParts(_sealed);
            var first = Array.BinarySearch(times, from);
            for (var i = first >= 0 ? first : ~first; i < times.Length && times[i] < to; i++)
                add(times[i], values[i]);
        }

        var index = _times.BinarySearch(from);
        for (var i = index >= 0 ? index : ~index; i < _times.Count && _times[i] < to; i++)
            add(_times[i], _values[i]);
    }

    /// <summary>The whole content as arrays, with the kept stamps by point index (for writing the chunk, or a read).</summary>
    public (long[] Times, double[] Values, ChunkStampSet Stamps) Snapshot()
    {
        long[] times;
        double[] values;
        var kept = new List<(int, PointStamp)>();
        if (_sealed is null)
        {
            times = [.. _times];
            values = [.. _values];
        }
        else
        {
            var (sealedTimes, sealedValues, sealedStamps) = DecodeParts(_sealed);
            times = new long[sealedTimes.Length + _times.Count];
            values = new double[times.Length];
            sealedTimes.CopyTo(times, 0);
            sealedValues.CopyTo(values, 0);
            _times.CopyTo(times, sealedTimes.Length);
            _values.CopyTo(values, sealedTimes.Length);
            kept.AddRange(sealedStamps.Kept);
        }

        return (times, values, StampsOf(times, kept));
    }

    /// <summary>Turns the sealed part back into lists, for a point at or before its end.</summary>
    private void Unseal()
    {
        if (_sealed is null)
            return;
        var (times, values, stamps) = DecodeParts(_sealed);
        var openTimes = new List<long>(times.Length + _times.Count + 16);
        var openValues = new List<double>(openTimes.Capacity);
        openTimes.AddRange(times);
        openTimes.AddRange(_times);
        openValues.AddRange(values);
        openValues.AddRange(_values);
        foreach (var (index, stamp) in stamps.Kept)
            (_stamps ??= [])[times[index]] = stamp;
        _times = openTimes;
        _values = openValues;
        _sealed = null;
        _sealedCount = 0;
        _sealedLast = long.MinValue;
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
