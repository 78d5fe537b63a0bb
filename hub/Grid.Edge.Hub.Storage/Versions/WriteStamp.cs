using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Versions;

/// <summary>
/// The version of a stored point: a hybrid logical clock value and the store (origin) that wrote it. When two
/// writes give the same (series, timestamp) different values, the one with the greater stamp wins, on every hub
/// and in any arrival order: compared by clock first, then by origin name (ordinal), then by the value's bits.
/// </summary>
/// <param name="Hlc">Milliseconds since the Unix epoch shifted left by <see cref="CounterBits"/>, plus a counter.</param>
/// <param name="Origin">The writing store's origin name (<see cref="Chunks.ChunkedTimeSeriesStore.Origin"/>).</param>
public readonly record struct WriteStamp(long Hlc, string Origin)
{
    /// <summary>Low bits of <see cref="Hlc"/> that count events within one millisecond.</summary>
    public const int CounterBits = 16;

    /// <summary>
    /// The stamp of a point's first write at its origin: the clock value of the reading's own time. It is never
    /// stored (it follows from the timestamp), and any later correction, whose clock is past it, wins over it.
    /// </summary>
    public static WriteStamp FirstWrite(long timestampMs, string origin) => new(HlcOf(timestampMs), origin);

    public static long HlcOf(long unixMs) => unchecked(unixMs << CounterBits);

    public long PhysicalMs => Hlc >> CounterBits;

    /// <summary>Orders two writes of the same point: positive when <paramref name="a"/> wins.</summary>
    public static int Compare(WriteStamp a, double aValue, WriteStamp b, double bValue)
    {
        var byClock = a.Hlc.CompareTo(b.Hlc);
        if (byClock != 0)
            return byClock;
        var byOrigin = string.CompareOrdinal(a.Origin, b.Origin);
        return byOrigin != 0 ? Math.Sign(byOrigin) : BitConverter.DoubleToInt64Bits(aValue).CompareTo(BitConverter.DoubleToInt64Bits(bValue));
    }
}

/// <summary>A reading written elsewhere, with the stamp its origin gave it (replication).</summary>
public readonly record struct StampedReading(Reading Reading, WriteStamp Stamp);
