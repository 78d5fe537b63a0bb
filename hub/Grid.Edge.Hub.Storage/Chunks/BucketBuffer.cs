namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The full content of one raw bucket of one series while it is being written: points sorted by time with
/// unique timestamps. Appends in time order are O(1); late points are inserted in place.
/// </summary>
internal sealed class BucketBuffer(long start)
{
    private readonly List<long> _times = [];
    private readonly List<double> _values = [];

    public long Start { get; } = start;

    public int Count => _times.Count;

    /// <summary>Changed since it was last written to the chunk store.</summary>
    public bool Dirty { get; set; }

    public void Load(long[] times, double[] values)
    {
        _times.AddRange(times);
        _values.AddRange(values);
    }

    /// <summary>Puts a point in; returns whether it was new, replaced a different value, or was already there.</summary>
    public UpsertResult Upsert(long t, double v)
    {
        var n = _times.Count;
        if (n == 0 || t > _times[n - 1])
        {
            _times.Add(t);
            _values.Add(v);
            return UpsertResult.Inserted;
        }

        var index = _times.BinarySearch(t);
        if (index >= 0)
        {
            if (BitConverter.DoubleToInt64Bits(_values[index]) == BitConverter.DoubleToInt64Bits(v))
                return UpsertResult.Duplicate;
            _values[index] = v;
            return UpsertResult.Updated;
        }

        _times.Insert(~index, t);
        _values.Insert(~index, v);
        return UpsertResult.Inserted;
    }

    public (long[] Times, double[] Values) Snapshot() => (_times.ToArray(), _values.ToArray());
}

internal enum UpsertResult
{
    Inserted,
    Updated,
    Duplicate,
}
