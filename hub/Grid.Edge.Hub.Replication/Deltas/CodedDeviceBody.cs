using System.Numerics;
using System.Text;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// A device body coded against the stream's previous deltas (<c>GDD2</c>). A live device delta holds about one point
/// per series: coded alone (<c>GDD1</c>), names, units and each chunk's own header cost some 25 bytes a point. Here a
/// point usually costs a few bits: the metrics are the ones the <see cref="DeviceContext"/> holds, the times come from
/// one table shared by the series, values are integer steps from the value the series last had.
/// <para>
/// Layout: <c>GDD2</c>; flags (1: coded against the context; 2: corrections follow each series); when coded, the
/// context's <see cref="DeviceContext.Digest"/> (4 bytes); varint points;
/// varint series; varint times in the table, each varint (the first from the header's t0, the rest as gap - 1). Then
/// bits: when coded, 1 if the series are exactly the context's metrics, else a bit per context metric (present with
/// the same unit) and a count of new metrics; each new metric as name and unit (counted bytes). Per series, in
/// ordinal order: 1 when it has a point at every table time, else a count and the indexes; its values: <c>0</c> and
/// the step from the context's last value at its scale, <c>10</c>, a 4-bit scale and the first value, or <c>11</c> and
/// raw 64-bit doubles; then steps; corrections as counted index gaps and the clock's distance from the point's
/// own time. Counts are Elias gamma codes, steps zigzag in 1, 6, 15 or 9 + n bits.
/// </para>
/// Decoding never throws: the body comes from a peer.
/// </summary>
internal static class CodedDeviceBody
{
    private const byte Coded = 1;
    private const byte HasCorrections = 2;

    public static ReadOnlySpan<byte> Magic => "GDD2"u8;

    public static bool Is(ReadOnlySpan<byte> body) => body.StartsWith(Magic);

    /// <summary>Whether decoding <paramref name="body"/> needs the context of the stream's previous delta.</summary>
    public static bool NeedsContext(ReadOnlySpan<byte> body) => Is(body) && body.Length > Magic.Length && (body[Magic.Length] & Coded) != 0;

    /// <summary>
    /// Codes <paramref name="body"/> (series ascending, each with ascending times) against <paramref name="context"/>
    /// (null: a key body), times from <paramref name="t0"/>, the delta's window start. <paramref name="next"/> is the
    /// context the stream's next delta is coded against.
    /// </summary>
    public static byte[] Encode(DeviceBody body, DeviceContext? context, long t0, out DeviceContext next)
    {
        ArgumentNullException.ThrowIfNull(body);
        var table = body.Series.SelectMany(s => s.Points.Times).Distinct().Order().ToArray();
        if (table.Length == 0 || table[0] < t0)
            throw new ArgumentException("a body has points, none before the window's start", nameof(body));
        var corrections = body.Series.Any(s => s.Points.Corrections.Count > 0);
        var w = new WireWriter();
        w.Bytes(Magic);
        w.U8((byte)((context is null ? 0 : Coded) | (corrections ? HasCorrections : 0)));
        if (context is not null)
            w.U32(context.Digest);
        w.Varint((ulong)body.Series.Sum(s => s.Points.Times.Length));
        w.Varint((ulong)body.Series.Count);
        w.Varint((ulong)table.Length);
        for (var i = 0; i < table.Length; i++)
            w.Varint((ulong)(i == 0 ? table[0] - t0 : table[i] - table[i - 1] - 1));

        var bits = new BitWriter(64 + (body.Series.Count * 2));
        var present = new bool[context?.Count ?? 0];
        foreach (var (metric, points) in body.Series)
        {
            if (context is not null && context.TryGet(metric, out var known) && known.Unit == points.Unit)
                present[Index(context, metric)] = true;
        }

        var fresh = body.Series.Where(s => context is null || !context.TryGet(s.Metric, out var known) || known.Unit != s.Points.Unit).ToList();
        if (context is not null)
        {
            var same = fresh.Count == 0 && present.All(p => p);
            bits.WriteBit(same);
            if (!same)
            {
                foreach (var p in present)
                    bits.WriteBit(p);
                WriteCount(bits, (ulong)fresh.Count);
            }
        }

        foreach (var (metric, points) in fresh)
        {
            WriteText(bits, metric);
            WriteText(bits, points.Unit);
        }

        var states = new List<(string, MetricState)>(body.Series.Count);
        var position = table.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        foreach (var (metric, points) in body.Series)
        {
            if (points.Times.Length == table.Length)
                bits.WriteBit(true);
            else
            {
                bits.WriteBit(false);
                WriteCount(bits, (ulong)points.Times.Length - 1);
                var last = -1;
                foreach (var t in points.Times)
                {
                    WriteCount(bits, (ulong)(position[t] - last - 1));
                    last = position[t];
                }
            }

            var known = context is not null && context.TryGet(metric, out var s) && s.Unit == points.Unit ? s : (MetricState?)null;
            states.Add((metric, WriteValues(bits, points.Values, known, points.Unit)));
            if (corrections)
            {
                WriteCount(bits, (ulong)points.Corrections.Count);
                var last = -1;
                foreach (var (index, hlc) in points.Corrections)
                {
                    WriteCount(bits, (ulong)(index - last - 1));
                    WriteSigned(bits, hlc - WriteStamp.HlcOf(points.Times[index]));
                    last = index;
                }
            }
        }

        next = DeviceContext.After(context, states);
        w.Bytes(bits.ToArray());
        return w.ToArray();
    }

    /// <summary>The points a coded body says it holds, read without decoding it (0 when it is not one).</summary>
    public static long CountOf(ReadOnlySpan<byte> body)
    {
        var reader = new WireReader(body);
        return reader.Bytes(Magic.Length, "magic", out var magic) && magic.SequenceEqual(Magic) && reader.U8("flags", out var flags)
            && ((flags & Coded) == 0 || reader.U32("context digest", out _)) && reader.Varint("points", out var points) && points is > 0 and <= PointsBody.MaxPoints
            ? (long)points
            : 0;
    }

    /// <summary>
    /// Decodes a coded body of <paramref name="device"/>'s stream against <paramref name="context"/> (the context after the
    /// stream's previous delta; null when none is known) and checks every series against the delta's window and clock.
    /// </summary>
    public static DeviceBody? TryDecode(ReadOnlySpan<byte> body, DeltaHeader header, string device, DeviceContext? context, out DeviceContext? next, out string? error)
    {
        next = null;
        var reader = new WireReader(body);
        uint digest = 0;
        if (!reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic) || !reader.U8("flags", out var flags)
            || ((flags & Coded) != 0 && !reader.U32("context digest", out digest))
            || !reader.Varint("points", out var total) || !reader.Varint("series count", out var count) || !reader.Varint("time count", out var timeCount))
        {
            error = reader.Error ?? "the body is not a coded device body (GDD2)";
            return null;
        }

        if (flags > (Coded | HasCorrections))
            error = $"flags {flags} name no coding";
        else if (total is 0 or > PointsBody.MaxPoints)
            error = $"{total} points, 1-{PointsBody.MaxPoints} expected";
        else if (count is 0 or > DeviceBody.MaxSeries || count > total)
            error = $"{count} series, 1-{Math.Min(total, DeviceBody.MaxSeries)} expected";
        else if (timeCount is 0 || timeCount > total)
            error = $"{timeCount} times, 1-{total} expected";
        else if ((flags & Coded) != 0 && context is null)
            error = "the body is coded against the stream's previous delta, whose context is not known here";
        else if ((flags & Coded) != 0 && context!.Depth >= DeviceContext.MaxDepth)
            error = $"more than {DeviceContext.MaxDepth} coded bodies since the stream's last key body";
        else if ((flags & Coded) != 0 && context!.Digest != digest)
            error = "the body is coded against another context than the one the stream's previous deltas give here";
        else
            error = null;
        if (error is not null)
            return null;

        var table = new long[timeCount];
        for (var i = 0; i < table.Length; i++)
        {
            if (!reader.Varint("time", out var step) || step > (ulong)DeltaHeader.MaxWindowMs)
            {
                error = reader.Error ?? $"time {i} lies past the largest window";
                return null;
            }

            table[i] = i == 0 ? header.T0 + (long)step : table[i - 1] + (long)step + 1;
        }

        // Times outside the window are refused per series (PointsBody.Check), after the context has moved on.
        try
        {
            var decoded = DecodeSeries(body[reader.Position..], header, (flags & Coded) != 0 ? context : null, (flags & HasCorrections) != 0, (int)count, (int)total, table, device, out var states, out error);

            // Points the window or clock checks refuse still move the context on, as at the author (which coded
            // them): the stream's next deltas decode, only this one's points are not stored.
            if (states is not null)
                next = DeviceContext.After((flags & Coded) != 0 ? context : null, states);
            return decoded;
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException or IndexOutOfRangeException or ArgumentException)
        {
            error = $"the series do not decode ({e.Message})";
            return null;
        }
    }

    /// <summary>The series, or null with the reason; <paramref name="states"/> is what they leave in the context, null when the bits do not decode.</summary>
    private static DeviceBody? DecodeSeries(ReadOnlySpan<byte> data, DeltaHeader header, DeviceContext? context, bool corrections, int count, int total,
        long[] table, string device, out List<(string, MetricState)>? states, out string? error)
    {
        states = null;
        var decodedStates = new List<(string, MetricState)>();
        string? refused = null;
        var bits = new BitReader(data);
        var units = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var fresh = context is null ? count : 0;
        if (context is not null)
        {
            if (bits.ReadBit())
            {
                for (var i = 0; i < context.Count; i++)
                    units[context.Metrics[i]] = context.States[i].Unit;
            }
            else
            {
                for (var i = 0; i < context.Count; i++)
                {
                    if (bits.ReadBit())
                        units[context.Metrics[i]] = context.States[i].Unit;
                }

                fresh = ReadCount(ref bits, count, "new metrics");
            }
        }

        string? previous = null;
        for (var i = 0; i < fresh; i++)
        {
            var metric = ReadText(ref bits, "metric");
            var unit = ReadText(ref bits, "unit");
            if (!SeriesKey.TryParse(device + "/" + metric, out var key) || key.Metric != metric)
            {
                error = $"new metric {i}: '{metric}' is not a metric name";
                return null;
            }

            if ((previous is not null && string.CompareOrdinal(previous, metric) >= 0) || units.ContainsKey(metric))
            {
                error = $"new metric {i}: '{metric}' is named twice or out of order";
                return null;
            }

            if (!UnitNames.IsAcceptable(unit, out var unitError))
            {
                error = $"series {metric}: unit: {unitError}";
                return null;
            }

            units[metric] = unit;
            previous = metric;
        }

        if (units.Count != count)
        {
            error = $"{units.Count} series named, {count} declared";
            return null;
        }

        var series = new List<(string, PointsBody)>(count);
        var points = 0;
        foreach (var (metric, unit) in units)
        {
            var n = bits.ReadBit() ? table.Length : ReadCount(ref bits, table.Length - 1, "points") + 1;
            points += n;
            if (points > total)
            {
                error = $"more than the {total} points declared";
                return null;
            }

            var times = new long[n];
            if (n == table.Length)
                table.CopyTo(times, 0);
            else
            {
                var at = -1;
                for (var i = 0; i < n; i++)
                {
                    at += ReadCount(ref bits, table.Length - at - 2, "time index") + 1;
                    times[i] = table[at];
                }
            }

            var known = context is not null && context.TryGet(metric, out var s) && s.Unit == unit ? s : (MetricState?)null;
            var values = new double[n];
            var state = ReadValues(ref bits, values, known, unit);
            var fixes = new List<(int, long)>();
            if (corrections)
            {
                var c = ReadCount(ref bits, n, "corrections");
                var index = -1;
                for (var i = 0; i < c; i++)
                {
                    index += ReadCount(ref bits, n - index - 2, "correction index") + 1;
                    var hlc = unchecked(WriteStamp.HlcOf(times[index]) + ReadSigned(ref bits));
                    if (hlc <= 0)
                        throw new InvalidDataException("a correction's clock is not positive");
                    fixes.Add((index, hlc));
                }
            }

            if (PointsBody.Check(times, values, fixes, header) is { } checkError)
                refused ??= $"series {metric}: {checkError}";
            series.Add((metric, new PointsBody(unit, times, values, fixes)));
            decodedStates.Add((metric, state));
        }

        if (points != total)
        {
            error = $"{points} points, {total} declared";
            return null;
        }

        states = decodedStates;
        error = refused;
        return refused is null ? new DeviceBody(series) : null;
    }

    private static MetricState WriteValues(BitWriter bits, double[] values, MetricState? known, string unit)
    {
        if (ChunkCodec.TryDecimalScale(values, out var scale))
        {
            long previous;
            if (known is { Scale: >= 0 } k && values.All(v => ChunkCodec.TryScale(v, k.Scale, out _)))
            {
                scale = k.Scale;
                bits.WriteBit(false);
                previous = k.Last;
            }
            else
            {
                bits.WriteBits(0b10, 2);
                bits.WriteBits((ulong)scale, 4);
                previous = 0;
            }

            foreach (var v in values)
            {
                ChunkCodec.TryScale(v, scale, out var value);
                WriteSigned(bits, value - previous);
                previous = value;
            }

            return new MetricState(unit, scale, previous);
        }

        bits.WriteBits(0b11, 2);
        foreach (var v in values)
            bits.WriteBits((ulong)BitConverter.DoubleToInt64Bits(v), 64);
        return new MetricState(unit, -1, 0);
    }

    private static MetricState ReadValues(ref BitReader bits, double[] values, MetricState? known, string unit)
    {
        int scale;
        long previous;
        if (!bits.ReadBit())
        {
            if (known is not { Scale: >= 0 } k)
                throw new InvalidDataException("values are coded against a scale the context does not hold");
            scale = k.Scale;
            previous = k.Last;
        }
        else if (!bits.ReadBit())
        {
            scale = (int)bits.ReadBits(4);
            if (scale > ChunkCodec.MaxScale)
                throw new InvalidDataException($"scale {scale} exceeds {ChunkCodec.MaxScale}");
            previous = 0;
        }
        else
        {
            for (var i = 0; i < values.Length; i++)
                values[i] = BitConverter.Int64BitsToDouble((long)bits.ReadBits(64));
            return new MetricState(unit, -1, 0);
        }

        for (var i = 0; i < values.Length; i++)
        {
            previous = unchecked(previous + ReadSigned(ref bits));
            if (previous <= -(1L << 52) || previous >= 1L << 52)
                throw new InvalidDataException("a value runs past 52 bits");
            values[i] = previous / ChunkCodec.Pow10[scale];
        }

        return new MetricState(unit, scale, previous);
    }

    private static int Index(DeviceContext context, string metric)
    {
        var metrics = context.Metrics;
        int lo = 0, hi = metrics.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            var c = string.CompareOrdinal(metrics[mid], metric);
            if (c == 0)
                return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }

        return -1;
    }

    /// <summary>Elias gamma code of <paramref name="value"/> + 1.</summary>
    private static void WriteCount(BitWriter bits, ulong value)
    {
        var x = value + 1;
        var width = 64 - BitOperations.LeadingZeroCount(x);
        bits.WriteBits(0, width - 1);
        bits.WriteBits(x, width);
    }

    private static int ReadCount(ref BitReader bits, long max, string what)
    {
        var zeros = 0;
        while (!bits.ReadBit())
        {
            if (++zeros > 32)
                throw new InvalidDataException($"{what}: a count longer than 32 bits");
        }

        var value = ((1UL << zeros) | bits.ReadBits(zeros)) - 1;
        if (max < 0 || value > (ulong)max)
            throw new InvalidDataException($"{what}: {value}, at most {max}");
        return (int)value;
    }

    /// <summary>Zigzag, then <c>0</c> for 0, <c>10</c> + 4 bits for 1-16, <c>110</c> + 12 bits for 17-4112, else <c>111</c>, 6 bits of width - 1 and the bits.</summary>
    private static void WriteSigned(BitWriter bits, long value)
    {
        var u = BitWriter.ZigZag(value);
        if (u == 0)
            bits.WriteBit(false);
        else if (u <= 16)
        {
            bits.WriteBits(0b10, 2);
            bits.WriteBits(u - 1, 4);
        }
        else if (u <= 4112)
        {
            bits.WriteBits(0b110, 3);
            bits.WriteBits(u - 17, 12);
        }
        else
        {
            var width = 64 - BitOperations.LeadingZeroCount(u);
            bits.WriteBits(0b111, 3);
            bits.WriteBits((ulong)(width - 1), 6);
            bits.WriteBits(u, width);
        }
    }

    private static long ReadSigned(ref BitReader bits)
    {
        ulong u;
        if (!bits.ReadBit())
            u = 0;
        else if (!bits.ReadBit())
            u = bits.ReadBits(4) + 1;
        else if (!bits.ReadBit())
            u = bits.ReadBits(12) + 17;
        else
            u = bits.ReadBits((int)bits.ReadBits(6) + 1);
        return BitReader.UnZigZag(u);
    }

    private static void WriteText(BitWriter bits, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        WriteCount(bits, (ulong)bytes.Length);
        foreach (var b in bytes)
            bits.WriteBits(b, 8);
    }

    private static string ReadText(ref BitReader bits, string what)
    {
        var length = ReadCount(ref bits, 255, what);
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
            bytes[i] = (byte)bits.ReadBits(8);
        return Encoding.UTF8.GetString(bytes);
    }
}
