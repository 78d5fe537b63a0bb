namespace Grid.Edge.Hub.Storage.Compression;

/// <summary>
/// The compressed form of a chunk: points of one series, ascending by time, timestamps unique.
/// Timestamps: first time and interval when the interval never changes (most sensors), else delta-of-delta with
/// Gorilla-style variable-length buckets. Values: most sensor values are short
/// decimals, so a run whose values are all exactly <c>k / 10^d</c> for one <c>d</c> is stored as integers
/// <c>k</c>: delta, zigzag, bit-packed in blocks of 128 (the idea behind ALP and Chimp). Anything else is Gorilla
/// XOR, or, when that would be larger (noisy full-precision values), exponents from a short move-to-front list
/// and raw mantissas. Decoding gives back every value bit for bit. Last, the points' write stamps: the usual origin
/// and the few stamps that are not a first write of it (format 3; format 2 chunks have none).
/// </summary>
public static class ChunkCodec
{
    public const byte FormatVersion = 3;
    private const byte UnstampedFormat = 2;
    private const byte DeltaOfDeltaTimes = 0;
    private const byte RegularTimes = 1;
    private const byte DecimalMode = 0;
    private const byte GorillaMode = 1;
    private const byte SplitMode = 2;
    private const int MantissaBits = 52;
    private const int RecentExponents = 4;
    internal const int MaxScale = 9;
    private const int BlockSize = 128;
    internal static readonly double[] Pow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

    /// <summary>Points without stamps (format 2): for columns that are not stored points, such as rollups.</summary>
    public static byte[] Encode(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values) =>
        Encode(timestamps, values, null);

    internal static byte[] Encode(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, Chunks.ChunkStampSet? stamps)
    {
        if (timestamps.Length != values.Length)
            throw new ArgumentException("timestamps and values differ in length");
        var writer = new BitWriter(16 + timestamps.Length * 2);
        writer.WriteBits(stamps is null ? UnstampedFormat : FormatVersion, 8);
        writer.WriteVarint((ulong)timestamps.Length);
        if (timestamps.Length == 0)
            return writer.ToArray();
        EncodeTimestamps(writer, timestamps);
        writer.AlignToByte();
        if (TryDecimalScale(values, out var scale))
            EncodeDecimal(writer, values, scale);
        else if (SplitBits(values) < GorillaBits(values))
            EncodeSplit(writer, values);
        else
            EncodeGorilla(writer, values);
        if (stamps is not null)
        {
            writer.AlignToByte();
            EncodeStamps(writer, timestamps, stamps);
        }

        return writer.ToArray();
    }

    /// <summary>The number of points a chunk says it holds, read without decoding it (a chunk from elsewhere is sized before its arrays are made).</summary>
    /// <exception cref="InvalidDataException">The bytes do not start a chunk.</exception>
    public static ulong PointCount(ReadOnlySpan<byte> data)
    {
        var reader = new BitReader(data);
        var version = reader.ReadBits(8);
        if (version != FormatVersion && version != UnstampedFormat)
            throw new InvalidDataException($"chunk format {version} is not {FormatVersion}");
        return reader.ReadVarint();
    }

    public static (long[] Timestamps, double[] Values) Decode(ReadOnlySpan<byte> data)
    {
        var (timestamps, values, _) = DecodeWithStamps(data);
        return (timestamps, values);
    }

    internal static (long[] Timestamps, double[] Values, Chunks.ChunkStampSet Stamps) DecodeWithStamps(ReadOnlySpan<byte> data)
    {
        var reader = new BitReader(data);
        var version = reader.ReadBits(8);
        if (version != FormatVersion && version != UnstampedFormat)
            throw new InvalidDataException($"chunk format {version} is not {FormatVersion}");
        var count = reader.ReadVarint();
        if (count > 100_000_000)
            throw new InvalidDataException("chunk point count is implausible");
        var timestamps = new long[count];
        var values = new double[count];
        if (count == 0)
            return (timestamps, values, Chunks.ChunkStampSet.Local);
        DecodeTimestamps(ref reader, timestamps);
        reader.AlignToByte();
        switch (reader.ReadBits(8))
        {
            case DecimalMode:
                DecodeDecimal(ref reader, values);
                break;
            case GorillaMode:
                DecodeGorilla(ref reader, values);
                break;
            case SplitMode:
                DecodeSplit(ref reader, values);
                break;
            default:
                throw new InvalidDataException("unknown value encoding");
        }

        if (version == UnstampedFormat)
            return (timestamps, values, Chunks.ChunkStampSet.Local);
        reader.AlignToByte();
        return (timestamps, values, DecodeStamps(ref reader, timestamps));
    }

    /// <summary>Usual origin, count of kept stamps, then each as (index gap, clock minus first-write clock, origin).</summary>
    private static void EncodeStamps(BitWriter writer, ReadOnlySpan<long> timestamps, Chunks.ChunkStampSet stamps)
    {
        writer.WriteVarint((ulong)stamps.UsualOrigin);
        writer.WriteVarint((ulong)stamps.Kept.Count);
        var previous = -1;
        foreach (var (index, stamp) in stamps.Kept)
        {
            writer.WriteVarint((ulong)(index - previous - 1));
            writer.WriteVarint(BitWriter.ZigZag(unchecked(stamp.Hlc - Versions.WriteStamp.HlcOf(timestamps[index]))));
            writer.WriteVarint((ulong)stamp.Origin);
            previous = index;
        }
    }

    private static Chunks.ChunkStampSet DecodeStamps(ref BitReader reader, long[] timestamps)
    {
        var usual = reader.ReadVarint();
        var count = reader.ReadVarint();
        if (usual > int.MaxValue || count > (ulong)timestamps.Length)
            throw new InvalidDataException("chunk stamps are implausible");
        var kept = new List<(int, Chunks.PointStamp)>((int)count);
        long index = -1;
        for (var i = 0UL; i < count; i++)
        {
            index += (long)Math.Min(reader.ReadVarint(), (ulong)timestamps.Length) + 1;
            if (index >= timestamps.Length)
                throw new InvalidDataException("chunk stamp index out of range");
            var hlc = unchecked(Versions.WriteStamp.HlcOf(timestamps[index]) + BitReader.UnZigZag(reader.ReadVarint()));
            var origin = reader.ReadVarint();
            if (origin > int.MaxValue)
                throw new InvalidDataException("chunk stamp origin out of range");
            kept.Add(((int)index, new Chunks.PointStamp(hlc, (int)origin)));
        }

        return new Chunks.ChunkStampSet((int)usual, kept);
    }

    private static void EncodeTimestamps(BitWriter writer, ReadOnlySpan<long> t)
    {
        // Most sensors report on a fixed interval: then the first time and the interval say it all.
        var regular = true;
        for (var i = 2; i < t.Length && regular; i++)
            regular = unchecked(t[i] - t[i - 1]) == unchecked(t[1] - t[0]);
        writer.WriteBits(regular ? RegularTimes : DeltaOfDeltaTimes, 8);
        writer.WriteVarint(BitWriter.ZigZag(t[0]));
        if (t.Length == 1)
            return;
        var delta = unchecked(t[1] - t[0]);
        writer.WriteVarint(BitWriter.ZigZag(delta));
        if (regular)
            return;
        for (var i = 2; i < t.Length; i++)
        {
            var next = unchecked(t[i] - t[i - 1]);
            var dod = unchecked(next - delta);
            delta = next;
            if (dod == 0)
            {
                writer.WriteBit(false);
            }
            else if (dod is >= -63 and <= 64)
            {
                writer.WriteBits(0b10, 2);
                writer.WriteBits((ulong)(dod + 63), 7);
            }
            else if (dod is >= -255 and <= 256)
            {
                writer.WriteBits(0b110, 3);
                writer.WriteBits((ulong)(dod + 255), 9);
            }
            else if (dod is >= -2047 and <= 2048)
            {
                writer.WriteBits(0b1110, 4);
                writer.WriteBits((ulong)(dod + 2047), 12);
            }
            else if (dod is >= -(1L << 31) + 1 and <= 1L << 31)
            {
                writer.WriteBits(0b11110, 5);
                writer.WriteBits((ulong)(dod + (1L << 31) - 1), 32);
            }
            else
            {
                writer.WriteBits(0b11111, 5);
                writer.WriteBits((ulong)dod, 64);
            }
        }
    }

    private static void DecodeTimestamps(ref BitReader reader, long[] t)
    {
        var mode = reader.ReadBits(8);
        if (mode is not (RegularTimes or DeltaOfDeltaTimes))
            throw new InvalidDataException("unknown timestamp encoding");
        t[0] = BitReader.UnZigZag(reader.ReadVarint());
        if (t.Length == 1)
            return;
        var delta = BitReader.UnZigZag(reader.ReadVarint());
        t[1] = unchecked(t[0] + delta);
        if (mode == RegularTimes)
        {
            for (var i = 2; i < t.Length; i++)
                t[i] = unchecked(t[i - 1] + delta);
            return;
        }

        for (var i = 2; i < t.Length; i++)
        {
            long dod;
            if (!reader.ReadBit())
                dod = 0;
            else if (!reader.ReadBit())
                dod = (long)reader.ReadBits(7) - 63;
            else if (!reader.ReadBit())
                dod = (long)reader.ReadBits(9) - 255;
            else if (!reader.ReadBit())
                dod = (long)reader.ReadBits(12) - 2047;
            else if (!reader.ReadBit())
                dod = (long)reader.ReadBits(32) - (1L << 31) + 1;
            else
                dod = (long)reader.ReadBits(64);
            delta = unchecked(delta + dod);
            t[i] = unchecked(t[i - 1] + delta);
        }
    }

    /// <summary>The smallest decimal scale at which every value is exactly an integer over 10^scale.</summary>
    internal static bool TryDecimalScale(ReadOnlySpan<double> values, out int scale)
    {
        for (scale = 0; scale <= MaxScale; scale++)
        {
            var fits = true;
            foreach (var v in values)
            {
                if (!TryScale(v, scale, out _))
                {
                    fits = false;
                    break;
                }
            }

            if (fits)
                return true;
        }

        return false;
    }

    /// <summary>True when <paramref name="value"/> is exactly <c>k / 10^scale</c> (bit for bit) for a 52-bit k.</summary>
    public static bool TryScale(double value, int scale, out long k)
    {
        var scaled = Math.Round(value * Pow10[scale]);
        k = 0;
        if (!(Math.Abs(scaled) < 1L << 52))
            return false;
        k = (long)scaled;
        return BitConverter.DoubleToInt64Bits(k / Pow10[scale]) == BitConverter.DoubleToInt64Bits(value);
    }

    private static void EncodeDecimal(BitWriter writer, ReadOnlySpan<double> values, int scale)
    {
        writer.WriteBits(DecimalMode, 8);
        writer.WriteBits((ulong)scale, 8);
        TryScale(values[0], scale, out var previous);
        writer.WriteVarint(BitWriter.ZigZag(previous));
        Span<ulong> block = stackalloc ulong[BlockSize];
        for (var start = 1; start < values.Length; start += BlockSize)
        {
            var n = Math.Min(BlockSize, values.Length - start);
            var width = 0;
            for (var i = 0; i < n; i++)
            {
                TryScale(values[start + i], scale, out var k);
                block[i] = BitWriter.ZigZag(k - previous);
                previous = k;
                width = Math.Max(width, 64 - System.Numerics.BitOperations.LeadingZeroCount(block[i]));
            }

            writer.WriteBits((ulong)width, 8);
            for (var i = 0; i < n; i++)
                writer.WriteBits(block[i], width);
        }
    }

    private static void DecodeDecimal(ref BitReader reader, double[] values)
    {
        var scale = (int)reader.ReadBits(8);
        if (scale > MaxScale)
            throw new InvalidDataException("decimal scale out of range");
        var k = BitReader.UnZigZag(reader.ReadVarint());
        values[0] = k / Pow10[scale];
        for (var start = 1; start < values.Length; start += BlockSize)
        {
            var n = Math.Min(BlockSize, values.Length - start);
            var width = (int)reader.ReadBits(8);
            if (width > 64)
                throw new InvalidDataException("bit width out of range");
            for (var i = 0; i < n; i++)
            {
                k += BitReader.UnZigZag(reader.ReadBits(width));
                values[start + i] = k / Pow10[scale];
            }
        }
    }

    private static void DecodeGorilla(ref BitReader reader, double[] values)
    {
        var previous = reader.ReadBits(64);
        values[0] = BitConverter.Int64BitsToDouble((long)previous);
        int leading = 0, trailing = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (reader.ReadBit())
            {
                if (reader.ReadBit())
                {
                    leading = (int)reader.ReadBits(5);
                    var meaningful = (int)reader.ReadBits(6) + 1;
                    trailing = 64 - leading - meaningful;
                    if (trailing < 0)
                        throw new InvalidDataException("corrupt XOR window");
                }

                previous ^= reader.ReadBits(64 - leading - trailing) << trailing;
            }

            values[i] = BitConverter.Int64BitsToDouble((long)previous);
        }
    }

    private static void EncodeGorilla(BitWriter writer, ReadOnlySpan<double> values)
    {
        writer.WriteBits(GorillaMode, 8);
        var previous = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        writer.WriteBits(previous, 64);
        int leading = -1, trailing = 0;
        for (var i = 1; i < values.Length; i++)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            var xor = bits ^ previous;
            previous = bits;
            if (xor == 0)
            {
                writer.WriteBit(false);
                continue;
            }

            writer.WriteBit(true);
            var lz = Math.Min(31, System.Numerics.BitOperations.LeadingZeroCount(xor));
            var tz = System.Numerics.BitOperations.TrailingZeroCount(xor);
            if (leading >= 0 && lz >= leading && tz >= trailing)
            {
                writer.WriteBit(false);
                writer.WriteBits(xor >> trailing, 64 - leading - trailing);
            }
            else
            {
                leading = lz;
                trailing = tz;
                var meaningful = 64 - leading - trailing;
                writer.WriteBit(true);
                writer.WriteBits((ulong)leading, 5);
                writer.WriteBits((ulong)(meaningful - 1), 6);
                writer.WriteBits(xor >> trailing, meaningful);
            }
        }
    }

    /// <summary>Bits <see cref="EncodeGorilla"/> would write (without writing them).</summary>
    private static long GorillaBits(ReadOnlySpan<double> values)
    {
        long bits = 64;
        var previous = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        int leading = -1, trailing = 0;
        for (var i = 1; i < values.Length; i++)
        {
            var current = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            var xor = current ^ previous;
            previous = current;
            if (xor == 0)
            {
                bits++;
                continue;
            }

            var lz = Math.Min(31, System.Numerics.BitOperations.LeadingZeroCount(xor));
            var tz = System.Numerics.BitOperations.TrailingZeroCount(xor);
            if (leading >= 0 && lz >= leading && tz >= trailing)
            {
                bits += 2 + 64 - leading - trailing;
            }
            else
            {
                leading = lz;
                trailing = tz;
                bits += 2 + 5 + 6 + 64 - leading - trailing;
            }
        }

        return bits;
    }

    /// <summary>
    /// Noisy full-precision values (a float64 from a calculation, a calibrated ADC reading) share little from one to
    /// the next, and XOR coding then costs more than the 64 bits it saves. Split: sign and exponent (12 bits) from a
    /// move-to-front list of the last four seen (1 or 3 bits when it hits), the mantissa raw, less the trailing zero
    /// bits every value of the chunk has (29 for values that were single precision on the device).
    /// </summary>
    private static long SplitBits(ReadOnlySpan<double> values)
    {
        var shift = CommonMantissaZeros(values);
        Span<ulong> recent = stackalloc ulong[RecentExponents];
        var count = 0;
        long bits = 6;
        foreach (var value in values)
        {
            var high = (ulong)BitConverter.DoubleToInt64Bits(value) >> MantissaBits;
            var index = MoveToFront(recent, ref count, high);
            bits += (index == 0 ? 1 : index > 0 ? 3 : 3 + 12) + MantissaBits - shift;
        }

        return bits;
    }

    private static int CommonMantissaZeros(ReadOnlySpan<double> values)
    {
        var shift = MantissaBits;
        foreach (var value in values)
        {
            var mantissa = (ulong)BitConverter.DoubleToInt64Bits(value) & ((1UL << MantissaBits) - 1);
            if (mantissa != 0)
                shift = Math.Min(shift, System.Numerics.BitOperations.TrailingZeroCount(mantissa));
        }

        return shift;
    }

    /// <summary>The position of <paramref name="high"/> in the list before it moves to the front; -1 when it was not there.</summary>
    private static int MoveToFront(Span<ulong> recent, ref int count, ulong high)
    {
        // Four entries at most, and mostly a hit on the first: a plain loop beats a vectorized search here.
        if (count > 0 && recent[0] == high)
            return 0;
        var index = -1;
        for (var i = 1; i < count; i++)
        {
            if (recent[i] == high)
            {
                index = i;
                break;
            }
        }

        var from = index >= 0 ? index : Math.Min(count, RecentExponents - 1);
        if (index < 0 && count < RecentExponents)
            count++;
        for (var i = from; i > 0; i--)
            recent[i] = recent[i - 1];
        recent[0] = high;
        return index;
    }

    private static void EncodeSplit(BitWriter writer, ReadOnlySpan<double> values)
    {
        writer.WriteBits(SplitMode, 8);
        var shift = CommonMantissaZeros(values);
        writer.WriteBits((ulong)shift, 6);
        Span<ulong> recent = stackalloc ulong[RecentExponents];
        var count = 0;
        foreach (var value in values)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(value);
            var high = bits >> MantissaBits;
            var index = MoveToFront(recent, ref count, high);
            if (index == 0)
            {
                writer.WriteBit(false);
            }
            else
            {
                writer.WriteBit(true);
                writer.WriteBits(index > 0 ? (ulong)(index - 1) : 3, 2);
                if (index < 0)
                    writer.WriteBits(high, 12);
            }

            writer.WriteBits((bits & ((1UL << MantissaBits) - 1)) >> shift, MantissaBits - shift);
        }
    }

    private static void DecodeSplit(ref BitReader reader, double[] values)
    {
        var shift = (int)reader.ReadBits(6);
        if (shift > MantissaBits)
            throw new InvalidDataException("mantissa shift out of range");
        Span<ulong> recent = stackalloc ulong[RecentExponents];
        var count = 0;
        for (var i = 0; i < values.Length; i++)
        {
            ulong high;
            if (!reader.ReadBit())
            {
                if (count == 0)
                    throw new InvalidDataException("split value refers to an exponent before any");
                high = recent[0];
            }
            else
            {
                var code = (int)reader.ReadBits(2);
                if (code < 3)
                {
                    if (code + 1 >= count)
                        throw new InvalidDataException("split value refers to an exponent not seen");
                    high = recent[code + 1];
                }
                else
                {
                    high = reader.ReadBits(12);
                }
            }

            MoveToFront(recent, ref count, high);
            var mantissa = reader.ReadBits(MantissaBits - shift) << shift;
            values[i] = BitConverter.Int64BitsToDouble((long)((high << MantissaBits) | mantissa));
        }
    }
}
