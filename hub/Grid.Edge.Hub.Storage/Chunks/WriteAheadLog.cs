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
    private readonly string _path;
    private readonly FileStream _stream;

    private WriteAheadLog(string path, FileStream stream)
    {
        _path = path;
        _stream = stream;
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
            var valid = ReadAll(stream, recovered);
            discardedBytes = stream.Length - valid;
            if (discardedBytes > 0)
            {
                stream.SetLength(valid);
                stream.Flush(flushToDisk: true);
            }

            stream.Position = valid;
            return new WriteAheadLog(path, stream);
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
        var payload = Serialize(readings);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(payload));
        _stream.Write(header);
        _stream.Write(payload);
        BytesWritten += HeaderBytes + payload.Length;
    }

    /// <summary>Writes through to the disk (fsync): what was appended survives a power cut.</summary>
    public void Sync() => _stream.Flush(flushToDisk: true);

    /// <summary>Empties the log once everything in it is safely in the chunk store.</summary>
    public void Truncate()
    {
        _stream.SetLength(0);
        _stream.Position = 0;
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    private static long ReadAll(FileStream stream, List<Reading> readings)
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
            try
            {
                Deserialize(payload, readings);
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentException or DecoderFallbackException or EndOfStreamException)
            {
                return valid;
            }

            valid += HeaderBytes + length;
        }
    }

    private static byte[] Serialize(IReadOnlyList<Reading> readings)
    {
        var series = new Dictionary<(SeriesKey, string), int>();
        using var buffer = new MemoryStream(readings.Count * 20 + 64);
        using var writer = new BinaryWriter(buffer, Encoding.UTF8);
        foreach (var reading in readings)
            series.TryAdd((reading.Series, reading.Unit), series.Count);
        writer.Write7BitEncodedInt(series.Count);
        foreach (var ((key, unit), _) in series.OrderBy(s => s.Value))
        {
            writer.Write(key.Device);
            writer.Write(key.Metric);
            writer.Write(unit);
        }

        writer.Write7BitEncodedInt(readings.Count);
        foreach (var reading in readings)
        {
            writer.Write7BitEncodedInt(series[(reading.Series, reading.Unit)]);
            writer.Write7BitEncodedInt64(reading.TimestampMs);
            writer.Write(reading.Value);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    private static void Deserialize(byte[] payload, List<Reading> readings)
    {
        using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
        var seriesCount = reader.Read7BitEncodedInt();
        if (seriesCount < 0 || seriesCount > payload.Length)
            throw new InvalidDataException("bad series count");
        var series = new (SeriesKey Key, string Unit)[seriesCount];
        for (var i = 0; i < seriesCount; i++)
            series[i] = (new SeriesKey(reader.ReadString(), reader.ReadString()), reader.ReadString());
        var count = reader.Read7BitEncodedInt();
        if (count < 0 || count > payload.Length)
            throw new InvalidDataException("bad reading count");
        for (var i = 0; i < count; i++)
        {
            var index = reader.Read7BitEncodedInt();
            if ((uint)index >= (uint)seriesCount)
                throw new InvalidDataException("bad series index");
            var t = reader.Read7BitEncodedInt64();
            var v = reader.ReadDouble();
            readings.Add(new Reading(series[index].Key, t, v, series[index].Unit));
        }

        if (reader.BaseStream.Position != payload.Length)
            throw new InvalidDataException("trailing bytes in record");
    }
}
