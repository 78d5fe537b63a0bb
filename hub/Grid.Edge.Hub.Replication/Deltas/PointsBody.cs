using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// The body of a raw-tier delta: points of one series as the engine stores them. <c>GDB1</c>, the unit (length byte
/// + UTF-8), varint count of corrections, each a varint point index (ascending) and the 8-byte clock value of its
/// stamp, then the points in the engine's chunk encoding. A point without a correction carries its first write's
/// stamp (its own time's clock value), as in the chunk store, so a receiver stores every point with exactly the
/// stamp it won with at its origin. Decoding never throws: the body comes from a peer (even when signed).
/// </summary>
internal sealed record PointsBody(string Unit, long[] Times, double[] Values, IReadOnlyList<(int Index, long Hlc)> Corrections)
{
    /// <summary>
    /// Points per delta at most: even noisy values (about 9 bytes a point) with a correction on every point (11 more)
    /// stay below the 1 MiB body limit.
    /// </summary>
    public const int MaxPoints = 40_000;

    /// <summary>How far a point's time or a correction's clock may run past the delta's own clock (which the receiver bounds by its skew).</summary>
    public const long MaxAheadOfDeltaMs = 600_000;

    private static ReadOnlySpan<byte> Magic => "GDB1"u8;

    public byte[] Encode()
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.ShortString(Unit);
        w.Varint((ulong)Corrections.Count);
        foreach (var (index, hlc) in Corrections)
        {
            w.Varint((ulong)index);
            w.I64(hlc);
        }

        w.Bytes(ChunkCodec.Encode(Times, Values));
        return w.ToArray();
    }

    /// <summary>The number of points a body holds, read without decoding them (0 when it is not a points body).</summary>
    public static long CountOf(ReadOnlySpan<byte> body)
    {
        var reader = new WireReader(body);
        if (!reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic)
            || !reader.ShortString("unit", 255, out _) || !reader.Varint("correction count", out var count) || count > MaxPoints)
            return 0;
        for (var i = 0UL; i < count; i++)
        {
            if (!reader.Varint("correction index", out _) || !reader.I64("correction clock", out _))
                return 0;
        }

        try
        {
            var points = ChunkCodec.PointCount(body[reader.Position..]);
            return points <= MaxPoints ? (long)points : 0;
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidDataException or OverflowException)
        {
            return 0;
        }
    }

    /// <summary>The body of <paramref name="header"/>'s delta, checked against its window; null with the reason.</summary>
    public static PointsBody? TryDecode(ReadOnlySpan<byte> body, DeltaHeader header, out string? error)
    {
        ArgumentNullException.ThrowIfNull(header);
        var reader = new WireReader(body);
        error = null;
        if (!reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic))
        {
            error = "the body is not a points body (GDB1)";
            return null;
        }

        if (!reader.ShortString("unit", 255, out var unit) || !reader.Varint("correction count", out var count))
        {
            error = reader.Error;
            return null;
        }

        if (!UnitNames.IsAcceptable(unit, out var unitError))
        {
            error = $"unit: {unitError}";
            return null;
        }

        if (count > MaxPoints)
        {
            error = $"{count} corrections, at most {MaxPoints}";
            return null;
        }

        var corrections = new List<(int, long)>((int)count);
        var last = -1L;
        for (var i = 0UL; i < count; i++)
        {
            if (!reader.Varint("correction index", out var index) || !reader.I64("correction clock", out var hlc))
            {
                error = reader.Error;
                return null;
            }

            if ((long)index <= last || index >= MaxPoints || hlc <= 0)
            {
                error = $"correction {i}: indexes must ascend below {MaxPoints} and clocks be positive";
                return null;
            }

            last = (long)index;
            corrections.Add(((int)index, hlc));
        }

        long[] times;
        double[] values;
        try
        {
            // Sized first: a few bytes could otherwise claim a hundred million points.
            var claimed = ChunkCodec.PointCount(body[reader.Position..]);
            if (claimed is 0 or > MaxPoints)
            {
                error = $"{claimed} points, 1-{MaxPoints} expected";
                return null;
            }

            (times, values) = ChunkCodec.Decode(body[reader.Position..]);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidDataException or OverflowException or InvalidOperationException)
        {
            error = $"the points do not decode ({e.GetType().Name})";
            return null;
        }

        error = Check(times, values, corrections, header);
        return error is null ? new PointsBody(unit, times, values, corrections) : null;
    }

    /// <summary>The points as readings of <paramref name="series"/>, each with the stamp it has at <paramref name="origin"/>.</summary>
    public StampedReading[] ToReadings(SeriesKey series, string origin)
    {
        var readings = new StampedReading[Times.Length];
        for (var i = 0; i < readings.Length; i++)
            readings[i] = new StampedReading(new Reading(series, Times[i], Values[i], Unit), WriteStamp.FirstWrite(Times[i], origin));
        foreach (var (index, hlc) in Corrections)
            readings[index] = readings[index] with { Stamp = new WriteStamp(hlc, origin) };
        return readings;
    }

    /// <summary>Why these points cannot be the body of <paramref name="header"/>'s delta, or null.</summary>
    internal static string? Check(long[] times, double[] values, List<(int Index, long Hlc)> corrections, DeltaHeader header)
    {
        if (times.Length == 0 || times.Length > MaxPoints || times.Length != values.Length)
            return $"{times.Length} points, 1-{MaxPoints} expected";

        // Stamps are bounded by the delta's clock, which the receiver holds back when it runs too far ahead: no
        // point or correction can drag a hub's clock further than that.
        var latestMs = (header.Hlc >> WriteStamp.CounterBits) + MaxAheadOfDeltaMs;
        if (corrections.Any(c => c.Hlc > header.Hlc + WriteStamp.HlcOf(MaxAheadOfDeltaMs)))
            return "a correction's clock runs too far ahead of the delta's";
        for (var i = 0; i < times.Length; i++)
        {
            if (times[i] < header.T0 || times[i] >= header.T1)
                return $"point {i} at {times[i]} lies outside the delta's window [{header.T0}, {header.T1})";
            if (times[i] > latestMs)
                return $"point {i} at {times[i]} lies more than {MaxAheadOfDeltaMs} ms past the delta's clock";
            if (i > 0 && times[i] <= times[i - 1])
                return $"point {i}: times must ascend";
            if (!double.IsFinite(values[i]))
                return $"point {i}: the value is not a finite number";
        }

        return corrections.Count > 0 && corrections[^1].Index >= times.Length ? "a correction names a point the body does not hold" : null;
    }
}
