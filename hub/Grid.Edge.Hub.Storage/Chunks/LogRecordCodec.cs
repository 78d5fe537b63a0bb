using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The payload of one log record, written and read here (the log frames it; see <see cref="WriteAheadLog"/>): its
/// series (a series in the chunk store by its id there, any other by device, metric and unit), then readings as
/// (series number in this record, time as a delta from the record's first time, value). A value is "same as this
/// series' last in this record", a short decimal as the change of its scaled integer, or the raw 8 bytes: sensor
/// values mostly cost one or two bytes. A reading that is not a first write of this store carries its stamp before
/// the value. The writer keeps one buffer for every record, with room for the frame's header before the payload.
/// </summary>
internal sealed class LogRecordCodec(int headerBytes)
{
    private const byte RawValue = 0xFF;
    private const byte SameValue = 0xFE;
    private const byte StampFollows = 0xFD;
    private readonly Dictionary<long, int> _numbers = [];

    // Per series number of the record being written: its last value, with the scale it was written at, so that the
    // next value's difference needs no second look at it.
    private readonly List<LastValue> _last = [];
    private readonly List<LogEntry> _fresh = [];
    private byte[] _record = new byte[1 << 16];

    /// <summary>The record last written by <see cref="Serialize"/>: the header's room, then the payload.</summary>
    public byte[] Buffer => _record;

    /// <summary>Decodes a payload; on any inconsistency nothing is added and the state is as before.</summary>
    public static bool TryDeserialize(byte[] payload, DecodeState state, Func<long, (SeriesKey Key, string Unit)?>? catalogue, List<LogEntry> entries)
    {
        var seriesBefore = state.Series.Count;
        var entriesBefore = entries.Count;
        var valuesBefore = state.LastValues.ToList();
        try
        {
            Deserialize(payload, state, catalogue, entries);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or DecoderFallbackException or EndOfStreamException or FormatException or OverflowException)
        {
            state.Series.RemoveRange(seriesBefore, state.Series.Count - seriesBefore);
            entries.RemoveRange(entriesBefore, entries.Count - entriesBefore);
            state.LastValues.Clear();
            state.LastValues.AddRange(valuesBefore);
            return false;
        }
    }

    /// <summary>
    /// A record: its series (a series in the chunk store by its id there, any other by device, metric and unit),
    /// then readings as (series number in this record, time as a delta from the record's first time, value). A
    /// value is "same as this series' last in this record", a short decimal as the change of its scaled integer, or
    /// the raw 8 bytes: sensor values mostly cost one or two bytes. A reading that is not a first write of this
    /// store carries its stamp before the value.
    /// </summary>
    public int Serialize(List<LogEntry> entries)
    {
        var at = headerBytes;
        _numbers.Clear();
        _last.Clear();
        _fresh.Clear();
        foreach (ref readonly var entry in CollectionsMarshal.AsSpan(entries))
        {
            if (_numbers.TryAdd(entry.SeriesId, _numbers.Count))
            {
                _last.Add(new LastValue { Scale = NoValue });
                _fresh.Add(entry);
            }
        }

        Ensure(ref at, 10);
        WriteVarint(ref at, (ulong)_fresh.Count);
        foreach (var entry in _fresh)
        {
            Ensure(ref at, 10);
            if (entry.Catalogued)
            {
                WriteVarint(ref at, (ulong)entry.SeriesId + 1);
                continue;
            }

            _record[at++] = 0;
            WriteString(ref at, entry.Reading.Series.Device);
            WriteString(ref at, entry.Reading.Series.Metric);
            WriteString(ref at, entry.Reading.Unit);
        }

        Ensure(ref at, 20);
        WriteVarint(ref at, (ulong)entries.Count);
        var baseTime = entries.Count > 0 ? entries[0].Reading.TimestampMs : 0;
        WriteVarint(ref at, (ulong)baseTime);
        long lastId = long.MinValue;
        var number = -1;
        var last = CollectionsMarshal.AsSpan(_last);
        foreach (ref readonly var entry in CollectionsMarshal.AsSpan(entries))
        {
            if (entry.SeriesId != lastId)
                number = _numbers[lastId = entry.SeriesId];
            Ensure(ref at, 40);
            WriteVarint(ref at, (ulong)number);
            var reading = entry.Reading;
            WriteVarint(ref at, Compression.BitWriter.ZigZag(unchecked(reading.TimestampMs - baseTime)));
            if (entry.Stamp is { } kept)
            {
                _record[at++] = StampFollows;
                WriteVarint(ref at, Compression.BitWriter.ZigZag(unchecked(kept.Hlc - Versions.WriteStamp.HlcOf(reading.TimestampMs))));
                WriteString(ref at, kept.Origin);
            }

            WriteValue(ref at, reading.Value, ref last[number]);
        }

        return at - headerBytes;
    }

    /// <summary>
    /// Same as the last value, a short decimal as the change of its scaled integer (trying the scale the series
    /// used last, then the smallest that fits), or the raw 8 bytes.
    /// </summary>
    private void WriteValue(ref int at, double value, ref LastValue last)
    {
        if (last.Scale != NoValue && BitConverter.DoubleToInt64Bits(last.Value) == BitConverter.DoubleToInt64Bits(value))
        {
            _record[at++] = SameValue;
            return;
        }

        var scale = -1;
        long k = 0;
        if (last.Scale >= 0 && Compression.ChunkCodec.TryScale(value, last.Scale, out k))
            scale = last.Scale;
        else if (Compression.ChunkCodec.TryScale(value, FinestScale(value), out _))
        {
            // Only values that are short decimals at the finest scale their size allows are worth the search for
            // the smallest: noisy values go raw after one try, not ten.
            for (var s = 0; s <= Compression.ChunkCodec.MaxScale && scale < 0; s++)
            {
                if (Compression.ChunkCodec.TryScale(value, s, out k))
                    scale = s;
            }
        }

        if (scale < 0)
        {
            _record[at++] = RawValue;
            BinaryPrimitives.WriteDoubleLittleEndian(_record.AsSpan(at), value);
            at += 8;
            last = last with { Value = value, Scale = RawScale };
            return;
        }

        // The difference is taken from the last value at this scale when it is an integer there, else from 0.
        var previous = last.Scale == scale ? last.Scaled : last.Scale != NoValue && Compression.ChunkCodec.TryScale(last.Value, scale, out var p) ? p : 0;
        _record[at++] = (byte)scale;
        WriteVarint(ref at, Compression.BitWriter.ZigZag(k - previous));
        last = last with { Value = value, Scale = scale, Scaled = k };
    }

    /// <summary>The finest scale at which the value still fits the 52 bits a scaled integer may have.</summary>
    private static int FinestScale(double value)
    {
        var magnitude = Math.Abs(value);
        var scale = Compression.ChunkCodec.MaxScale;
        while (scale > 0 && magnitude * Compression.ChunkCodec.Pow10[scale] >= 1L << 52)
            scale--;
        return scale;
    }

    private void Ensure(ref int at, int bytes)
    {
        if (at + bytes > _record.Length)
            Array.Resize(ref _record, Math.Max(_record.Length * 2, at + bytes));
    }

    private void WriteVarint(ref int at, ulong value)
    {
        while (value >= 0x80)
        {
            _record[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _record[at++] = (byte)value;
    }

    /// <summary>As <see cref="BinaryWriter.Write(string)"/> does: the UTF-8 byte count, then the bytes.</summary>
    private void WriteString(ref int at, string text)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        Ensure(ref at, bytes + 5);
        WriteVarint(ref at, (ulong)bytes);
        at += Encoding.UTF8.GetBytes(text, _record.AsSpan(at));
    }

    private const int NoValue = -2;
    private const int RawScale = -1;

    /// <summary>A series' last logged value; <see cref="Scale"/> is <see cref="NoValue"/> before the first.</summary>
    private record struct LastValue(double Value, int Scale, long Scaled);

    private static double ReadValue(BinaryReader reader, double? last)
    {
        var tag = reader.ReadByte();
        switch (tag)
        {
            case SameValue:
                return last ?? throw new InvalidDataException("'same value' for a series without one");
            case RawValue:
                return reader.ReadDouble();
            case <= Compression.ChunkCodec.MaxScale:
                var k = PreviousScaled(last, tag) + Compression.BitReader.UnZigZag((ulong)reader.Read7BitEncodedInt64());
                return k / Compression.ChunkCodec.Pow10[tag];
            default:
                throw new InvalidDataException("unknown value tag");
        }
    }

    /// <summary>The last value as an integer at this scale when it is one exactly, else 0 (the value is then absolute).</summary>
    private static long PreviousScaled(double? last, int scale) =>
        last is { } previous && Compression.ChunkCodec.TryScale(previous, scale, out var k) ? k : 0;

    /// <summary>
    /// Decodes one record into <paramref name="readings"/>. With a <paramref name="catalogue"/> it is a record of this
    /// format (series by chunk-store id or by key); without, one of the earlier format, whose series and last values
    /// carry over in <paramref name="state"/> from the records before it.
    /// </summary>
    private static void Deserialize(byte[] payload, DecodeState state, Func<long, (SeriesKey Key, string Unit)?>? catalogue, List<LogEntry> readings)
    {
        var series = state.Series;
        var lastValues = state.LastValues;
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var fresh = reader.Read7BitEncodedInt();
        if (fresh < 0 || fresh > payload.Length)
            throw new InvalidDataException("bad series count");
        for (var i = 0; i < fresh; i++)
        {
            var id = catalogue is null ? 0 : reader.Read7BitEncodedInt64();
            if (id == 0)
                series.Add((new SeriesKey(reader.ReadString(), reader.ReadString()), reader.ReadString()));
            else
                series.Add(catalogue!(id - 1) ?? throw new InvalidDataException($"series {id - 1} is not in the chunk store"));
            lastValues.Add(null);
        }

        var count = reader.Read7BitEncodedInt();
        if (count < 0 || count > payload.Length)
            throw new InvalidDataException("bad reading count");
        var baseTime = reader.Read7BitEncodedInt64();
        for (var i = 0; i < count; i++)
        {
            var index = reader.Read7BitEncodedInt();
            if ((uint)index >= (uint)series.Count)
                throw new InvalidDataException("bad series number");
            var t = unchecked(baseTime + Compression.BitReader.UnZigZag((ulong)reader.Read7BitEncodedInt64()));
            Versions.WriteStamp? stamp = null;
            if (reader.BaseStream.Position < payload.Length && payload[reader.BaseStream.Position] == StampFollows)
            {
                reader.ReadByte();
                var hlc = unchecked(Versions.WriteStamp.HlcOf(t) + Compression.BitReader.UnZigZag((ulong)reader.Read7BitEncodedInt64()));
                stamp = new Versions.WriteStamp(hlc, reader.ReadString());
            }

            var v = ReadValue(reader, lastValues[index]);
            lastValues[index] = v;
            readings.Add(new LogEntry(new Reading(series[index].Key, t, v, series[index].Unit), stamp));
        }

        if (reader.BaseStream.Position != payload.Length)
            throw new InvalidDataException("trailing bytes in record");
    }
}

/// <summary>A logged reading; <see cref="Stamp"/> is null for a first write of this store (its stamp follows from its time).</summary>
/// <remarks>
/// <see cref="SeriesId"/> is the store's id of the series; <see cref="Catalogued"/> says that the chunk store holds it
/// (a committed checkpoint saved it), so that the log may name it by that id. Replayed entries carry neither.
/// </remarks>
internal readonly record struct LogEntry(Reading Reading, Versions.WriteStamp? Stamp, long SeriesId = 0, bool Catalogued = false);

/// <summary>Series and last values while decoding: per record in this format, across records in the earlier one.</summary>
internal sealed class DecodeState
{
    public List<(SeriesKey Key, string Unit)> Series { get; } = [];

    public List<double?> LastValues { get; } = [];
}
