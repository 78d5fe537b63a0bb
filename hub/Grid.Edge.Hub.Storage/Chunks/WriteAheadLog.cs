using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The append-only log that makes an append durable before it reaches a chunk. A record is
/// <c>[length u32][crc32 u32][payload]</c>; the payload holds a batch of readings. Recovery reads records until
/// the first one that is short or fails its checksum: a torn or lost tail (power cut, an SD card that lied about
/// its sync) costs only the records that were never acknowledged.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    private const int HeaderBytes = 8;
    private const int MaxRecordBytes = 64 * 1024 * 1024;
    private const byte RawValue = 0xFF;
    private const byte SameValue = 0xFE;
    private const byte StampFollows = 0xFD;
    private readonly FileStream _stream;
    private readonly Dictionary<long, int> _numbers = [];

    // Per series number: its last logged value, kept with the scale it was written at so that the next value's
    // difference needs no second look at it.
    private readonly List<LastValue> _last = [];
    private readonly List<(int Number, LastValue Before)> _undo = [];
    private readonly List<(SeriesKey Key, string Unit)> _fresh = [];
    private byte[] _record = new byte[1 << 16];
    private int _generation;
    private bool _broken;

    private WriteAheadLog(FileStream stream) => _stream = stream;

    public long Length => _stream.Length;

    /// <summary>Bytes appended since the store opened (for the bytes-written-per-point figure).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Opens the log, returning the readings of every intact record in order.</summary>
    public static WriteAheadLog Open(string path, out List<LogEntry> recovered, out long discardedBytes)
    {
        recovered = [];
        discardedBytes = 0;
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            var series = new List<(SeriesKey Key, string Unit)>();
            var lastValues = new List<double?>();
            var valid = ReadAll(stream, series, lastValues, recovered);
            discardedBytes = stream.Length - valid;
            if (discardedBytes > 0)
            {
                stream.SetLength(valid);
                stream.Flush(flushToDisk: true);
            }

            stream.Position = valid;
            var log = new WriteAheadLog(stream);

            // Records without readings leave nothing to replay, and their series numbers must not carry over.
            if (recovered.Count == 0 && valid > 0)
                log.Truncate();
            return log;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one record; not durable until <see cref="Sync"/>.</summary>
    public void Append(List<LogEntry> readings)
    {
        // The record updates the log's state (series numbers, last values) as it is built; if it cannot be
        // written whole, the state is put back so that no later record relies on it.
        if (_broken)
            throw new IOException("The store's log could not be repaired after a failed write; restart the hub to recover from it.");
        if (_numbers.Count == 0 && _stream.Length > 0)
            throw new InvalidOperationException("The log still holds records from before the store opened: replay them and empty it first.");
        var numbersBefore = _numbers.Count;
        var position = _stream.Position;
        _undo.Clear();
        _generation++;
        try
        {
            var length = Serialize(readings);
            BinaryPrimitives.WriteUInt32LittleEndian(_record, (uint)length);
            BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(4), Crc32.HashToUInt32(_record.AsSpan(HeaderBytes, length)));
            _stream.Write(_record, 0, HeaderBytes + length);
            BytesWritten += HeaderBytes + length;
        }
        catch
        {
            for (var i = _undo.Count - 1; i >= 0; i--)
                _last[_undo[i].Number] = _undo[i].Before;
            foreach (var entry in _numbers.Where(kv => kv.Value >= numbersBefore).ToList())
                _numbers.Remove(entry.Key);
            _last.RemoveRange(numbersBefore, _last.Count - numbersBefore);

            // A half-written record must not stay in front of later ones: recovery stops at the first bad record.
            try
            {
                _stream.SetLength(position);
                _stream.Position = position;
            }
            catch (IOException)
            {
                _broken = true;
            }

            throw;
        }
    }

    /// <summary>Writes through to the disk (fsync): what was appended survives a power cut.</summary>
    public void Sync() => _stream.Flush(flushToDisk: true);

    /// <summary>Empties the log once everything in it is safely in the chunk store.</summary>
    public void Truncate()
    {
        _numbers.Clear();
        _last.Clear();
        _stream.SetLength(0);
        _stream.Position = 0;
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    private static long ReadAll(FileStream stream, List<(SeriesKey Key, string Unit)> series, List<double?> lastValues, List<LogEntry> readings)
    {
        stream.Position = 0;
        var header = new byte[HeaderBytes];
        long valid = 0;
        while (true)
        {
            if (stream.Read(header, 0, HeaderBytes) < HeaderBytes)
                return valid;
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (length > MaxRecordBytes || valid + HeaderBytes + length > stream.Length)
                return valid;
            var payload = new byte[length];
            stream.ReadExactly(payload);
            if (Crc32.HashToUInt32(payload) != crc)
                return valid;
            var seriesBefore = series.Count;
            var readingsBefore = readings.Count;
            var valuesBefore = lastValues.ToList();
            try
            {
                Deserialize(payload, series, lastValues, readings);
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException or DecoderFallbackException or EndOfStreamException)
            {
                series.RemoveRange(seriesBefore, series.Count - seriesBefore);
                readings.RemoveRange(readingsBefore, readings.Count - readingsBefore);
                lastValues.Clear();
                lastValues.AddRange(valuesBefore);
                return valid;
            }

            valid += HeaderBytes + length;
        }
    }

    /// <summary>
    /// A record: series first seen in this log (their key and unit, once per log generation), then readings as
    /// (series number, time as a delta from the record's first time, value). A value is "same as this series'
    /// last", a short decimal as the change of its scaled integer, or the raw 8 bytes: sensor values mostly cost
    /// one or two bytes. A reading that is not a first write of this store carries its stamp before the value.
    /// Numbers and last values restart when the log is emptied.
    /// </summary>
    private int Serialize(List<LogEntry> entries)
    {
        var at = HeaderBytes;
        _fresh.Clear();
        foreach (ref readonly var entry in CollectionsMarshal.AsSpan(entries))
        {
            if (_numbers.TryAdd(entry.SeriesId, _numbers.Count))
            {
                _last.Add(new LastValue { Scale = NoValue });
                _fresh.Add((entry.Reading.Series, entry.Reading.Unit));
            }
        }

        Ensure(ref at, 10);
        WriteVarint(ref at, (ulong)_fresh.Count);
        foreach (var (key, unit) in _fresh)
        {
            WriteString(ref at, key.Device);
            WriteString(ref at, key.Metric);
            WriteString(ref at, unit);
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

            ref var previous = ref last[number];
            if (previous.Generation != _generation)
            {
                _undo.Add((number, previous));
                previous.Generation = _generation;
            }

            WriteValue(ref at, reading.Value, ref previous);
        }

        return at - HeaderBytes;
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
    private record struct LastValue(double Value, int Scale, long Scaled, int Generation);

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

    private static void Deserialize(byte[] payload, List<(SeriesKey Key, string Unit)> series, List<double?> lastValues, List<LogEntry> readings)
    {
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var fresh = reader.Read7BitEncodedInt();
        if (fresh < 0 || fresh > payload.Length)
            throw new InvalidDataException("bad series count");
        for (var i = 0; i < fresh; i++)
        {
            series.Add((new SeriesKey(reader.ReadString(), reader.ReadString()), reader.ReadString()));
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
/// <remarks><see cref="SeriesId"/> numbers the series in the log (the store's id); replayed entries carry 0.</remarks>
internal readonly record struct LogEntry(Reading Reading, Versions.WriteStamp? Stamp, long SeriesId = 0);
