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
    private readonly FileStream _stream;
    private readonly Dictionary<(SeriesKey, string), int> _numbers = [];

    private WriteAheadLog(FileStream stream, List<(SeriesKey Key, string Unit)> series)
    {
        _stream = stream;
        for (var i = 0; i < series.Count; i++)
            _numbers[series[i]] = i;
    }

    public long Length => _stream.Length;

    /// <summary>Bytes appended since the store opened (for the bytes-written-per-point figure).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Opens the log, returning the readings of every intact record in order.</summary>
    public static WriteAheadLog Open(string path, out List<Reading> recovered, out long discardedBytes)
    {
        recovered = [];
        discardedBytes = 0;
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            var series = new List<(SeriesKey Key, string Unit)>();
            var valid = ReadAll(stream, series, recovered);
            discardedBytes = stream.Length - valid;
            if (discardedBytes > 0)
            {
                stream.SetLength(valid);
                stream.Flush(flushToDisk: true);
            }

            stream.Position = valid;
            return new WriteAheadLog(stream, series);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Appends one record; not durable until <see cref="Sync"/>.</summary>
    public void Append(IReadOnlyList<Reading> readings)
    {
        var numbersBefore = _numbers.Count;
        byte[] payload;
        try
        {
            payload = Serialize(readings);
        }
        catch
        {
            ForgetSince(numbersBefore);
            throw;
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(payload));
        try
        {
            _stream.Write(header);
            _stream.Write(payload);
        }
        catch
        {
            // The record may be missing or torn: its series definitions cannot be relied on by later records.
            ForgetSince(numbersBefore);
            throw;
        }

        BytesWritten += HeaderBytes + payload.Length;
    }

    private void ForgetSince(int count)
    {
        foreach (var entry in _numbers.Where(kv => kv.Value >= count).ToList())
            _numbers.Remove(entry.Key);
    }

    /// <summary>Writes through to the disk (fsync): what was appended survives a power cut.</summary>
    public void Sync() => _stream.Flush(flushToDisk: true);

    /// <summary>Empties the log once everything in it is safely in the chunk store.</summary>
    public void Truncate()
    {
        _numbers.Clear();
        _stream.SetLength(0);
        _stream.Position = 0;
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    private static long ReadAll(FileStream stream, List<(SeriesKey Key, string Unit)> series, List<Reading> readings)
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
            try
            {
                Deserialize(payload, series, readings);
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException or DecoderFallbackException or EndOfStreamException)
            {
                series.RemoveRange(seriesBefore, series.Count - seriesBefore);
                readings.RemoveRange(readingsBefore, readings.Count - readingsBefore);
                return valid;
            }

            valid += HeaderBytes + length;
        }
    }

    /// <summary>
    /// A record: series first seen in this log (their key and unit, once per log generation), then readings as
    /// (series number, time as a delta from the record's first time, value bits). Numbers restart when the log is
    /// emptied, so a record never refers to a definition that could be gone.
    /// </summary>
    private byte[] Serialize(IReadOnlyList<Reading> readings)
    {
        using var buffer = new MemoryStream(readings.Count * 12 + 64);
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        var fresh = new List<(SeriesKey Key, string Unit)>();
        foreach (var reading in readings)
        {
            if (!_numbers.ContainsKey((reading.Series, reading.Unit)))
            {
                _numbers[(reading.Series, reading.Unit)] = _numbers.Count;
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

        writer.Write7BitEncodedInt(readings.Count);
        var baseTime = readings.Count > 0 ? readings[0].TimestampMs : 0;
        writer.Write7BitEncodedInt64(baseTime);
        foreach (var reading in readings)
        {
            writer.Write7BitEncodedInt(_numbers[(reading.Series, reading.Unit)]);
            writer.Write7BitEncodedInt64((long)Compression.BitWriter.ZigZag(unchecked(reading.TimestampMs - baseTime)));
            writer.Write(reading.Value);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    private static void Deserialize(byte[] payload, List<(SeriesKey Key, string Unit)> series, List<Reading> readings)
    {
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var fresh = reader.Read7BitEncodedInt();
        if (fresh < 0 || fresh > payload.Length)
            throw new InvalidDataException("bad series count");
        for (var i = 0; i < fresh; i++)
            series.Add((new SeriesKey(reader.ReadString(), reader.ReadString()), reader.ReadString()));
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
            var v = reader.ReadDouble();
            readings.Add(new Reading(series[index].Key, t, v, series[index].Unit));
        }

        if (reader.BaseStream.Position != payload.Length)
            throw new InvalidDataException("trailing bytes in record");
    }
}
