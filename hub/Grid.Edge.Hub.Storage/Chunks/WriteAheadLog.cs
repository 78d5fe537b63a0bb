using System.Buffers.Binary;
using System.IO.Hashing;
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
    private readonly List<double?> _lastValues = [];
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
    public void Append(IReadOnlyList<LogEntry> readings)
    {
        // The record updates the log's state (series numbers, last values) as it is built; if it cannot be
        // written whole, the state is put back so that no later record relies on it.
        if (_broken)
            throw new IOException("The store's log could not be repaired after a failed write; restart the hub to recover from it.");
        if (_numbers.Count == 0 && _stream.Length > 0)
            throw new InvalidOperationException("The log still holds records from before the store opened: replay them and empty it first.");
        var numbersBefore = _numbers.Count;
        var position = _stream.Position;
        var undo = new List<(int Number, double? Value)>();
        try
        {
            var payload = Serialize(readings, _numbers, _lastValues, undo);
            Span<byte> header = stackalloc byte[HeaderBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(payload));
            _stream.Write(header);
            _stream.Write(payload);
            BytesWritten += HeaderBytes + payload.Length;
        }
        catch
        {
            for (var i = undo.Count - 1; i >= 0; i--)
                _lastValues[undo[i].Number] = undo[i].Value;
            foreach (var entry in _numbers.Where(kv => kv.Value >= numbersBefore).ToList())
                _numbers.Remove(entry.Key);
            _lastValues.RemoveRange(numbersBefore, _lastValues.Count - numbersBefore);

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
        _lastValues.Clear();
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
    private static byte[] Serialize(IReadOnlyList<LogEntry> entries, Dictionary<long, int> numbers, List<double?> lastValues, List<(int Number, double? Value)> undo)
    {
        using var buffer = new MemoryStream(entries.Count * 8 + 64);
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        var fresh = new List<(SeriesKey Key, string Unit)>();
        foreach (var (reading, _, seriesId) in entries)
        {
            if (numbers.TryAdd(seriesId, numbers.Count))
            {
                lastValues.Add(null);
                fresh.Add((reading.Series, reading.Unit));
            }
        }

        writer.Write7BitEncodedInt(fresh.Count);
        foreach (var (key, unit) in fresh)
        {
            writer.Write(key.Device);
            writer.Write(key.Metric);
            writer.Write(unit);
        }

        writer.Write7BitEncodedInt(entries.Count);
        var baseTime = entries.Count > 0 ? entries[0].Reading.TimestampMs : 0;
        writer.Write7BitEncodedInt64(baseTime);
        foreach (var (reading, stamp, seriesId) in entries)
        {
            var number = numbers[seriesId];
            writer.Write7BitEncodedInt(number);
            writer.Write7BitEncodedInt64((long)Compression.BitWriter.ZigZag(unchecked(reading.TimestampMs - baseTime)));
            if (stamp is { } kept)
            {
                writer.Write(StampFollows);
                writer.Write7BitEncodedInt64((long)Compression.BitWriter.ZigZag(unchecked(kept.Hlc - Versions.WriteStamp.HlcOf(reading.TimestampMs))));
                writer.Write(kept.Origin);
            }

            WriteValue(writer, reading.Value, lastValues[number]);
            undo.Add((number, lastValues[number]));
            lastValues[number] = reading.Value;
        }

        writer.Flush();
        return buffer.ToArray();
    }

    private static void WriteValue(BinaryWriter writer, double value, double? last)
    {
        if (last is { } previous && BitConverter.DoubleToInt64Bits(previous) == BitConverter.DoubleToInt64Bits(value))
        {
            writer.Write(SameValue);
            return;
        }

        for (var scale = 0; scale <= Compression.ChunkCodec.MaxScale; scale++)
        {
            if (Compression.ChunkCodec.TryScale(value, scale, out var k))
            {
                writer.Write((byte)scale);
                writer.Write7BitEncodedInt64((long)Compression.BitWriter.ZigZag(k - PreviousScaled(last, scale)));
                return;
            }
        }

        writer.Write(RawValue);
        writer.Write(value);
    }

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
