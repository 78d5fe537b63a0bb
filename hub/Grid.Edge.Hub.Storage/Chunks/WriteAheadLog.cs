using System.Buffers.Binary;
using System.IO.Hashing;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The append-only log that makes an append durable before it reaches a chunk. A record is
/// <c>[magic u32][length u32][crc32 u32 of length and payload][payload]</c>; the payload holds a batch of readings and
/// depends on no other record (its series are named in it, by their chunk-store id or, for a series not yet there,
/// by key and unit; values are coded against earlier values of the same record only). So recovery keeps every
/// intact record: it steps over damaged bytes by looking for the next magic whose record checks out, and the bytes
/// it could not read are reported for quarantine, never dropped. Logs of earlier versions (records
/// <c>[length u32][crc32 u32][payload]</c> that number series and code values across records) still open: their
/// records are read up to the first damaged one, and everything from there is quarantined.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    private const uint Magic = 0xF74C4547; // "GEL" and 0xF7: as a first word, more than any length an old record had
    private const int HeaderBytes = 12;
    private const int OldHeaderBytes = 8;
    private const int MaxRecordBytes = 64 * 1024 * 1024;
    private readonly IStoreFile _file;
    private readonly LogRecordCodec _codec = new(HeaderBytes);
    private long _length;

    private WriteAheadLog(IStoreFile file, long length)
    {
        _file = file;
        _length = length;
    }

    public long Length => _length;

    /// <summary>Bytes appended since the store opened (for the bytes-written-per-point figure).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Opens the log (creating it when missing), returning the readings of every intact record in order and the
    /// regions of the file that held no readable record. <paramref name="catalogue"/> names the chunk store's series.
    /// </summary>
    public static WriteAheadLog Open(StoreFiles files, string path, Func<long, (SeriesKey Key, string Unit)?> catalogue, out LogContent content)
    {
        var created = !files.Exists(path);
        var file = files.Open(path);
        try
        {
            if (created)
                files.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            content = Scan(file, catalogue);
            return new WriteAheadLog(file, file.Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts an empty log in a new file renamed over the old one, and syncs the folder: after a failed write or
    /// fsync the old file's state is unknown and its handle untrustworthy (Linux forgets a failed write-back once
    /// fsync has reported it), so the new log owes nothing to either. Only for a log whose readings are all in the
    /// chunk store. The new log starts with an empty record, written and synced before the rename: the log is
    /// taken as recovered only once a write and an fsync went through again.
    /// </summary>
    public static WriteAheadLog Replace(StoreFiles files, string path, long bytesWritten)
    {
        var fresh = path + ".new";
        var file = files.Open(fresh, truncate: true);
        try
        {
            var log = new WriteAheadLog(file, 0);
            log.Append([]);
            log.Sync();
            files.Move(fresh, path);
            files.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            log.BytesWritten = bytesWritten;
            return log;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies damaged regions of this log into files beside it (<c>chunks.wal.damaged-STAMP-at-OFFSET</c>), synced
    /// with their folder, before the log may be emptied. Returns their paths.
    /// </summary>
    public List<string> Quarantine(StoreFiles files, string path, IReadOnlyList<(long Offset, long Length)> regions, DateTimeOffset now)
    {
        var written = new List<string>();
        var buffer = new byte[1 << 20];
        foreach (var (offset, length) in regions)
        {
            var target = $"{path}.damaged-{now:yyyyMMddHHmmss}-at-{offset}";
            using var file = files.Open(target, truncate: true);
            for (long done = 0; done < length;)
            {
                var read = _file.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - done)), offset + done);
                if (read <= 0)
                    break;
                file.Write(buffer.AsSpan(0, read), done);
                done += read;
            }

            file.Sync();
            written.Add(target);
        }

        if (written.Count > 0)
            files.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return written;
    }

    /// <summary>Appends one record; not durable until <see cref="Sync"/>. A failed write leaves the log unusable (the store replaces it).</summary>
    public void Append(List<LogEntry> readings)
    {
        var length = _codec.Serialize(readings);
        var record = _codec.Buffer;
        BinaryPrimitives.WriteUInt32LittleEndian(record, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)length);
        var crc = new Crc32();
        crc.Append(record.AsSpan(4, 4));
        crc.Append(record.AsSpan(HeaderBytes, length));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), crc.GetCurrentHashAsUInt32());
        _file.Write(record.AsSpan(0, HeaderBytes + length), _length);
        _length += HeaderBytes + length;
        BytesWritten += HeaderBytes + length;
    }

    /// <summary>Writes through to the disk (fsync): what was appended survives a power cut.</summary>
    public void Sync() => _file.Sync();

    /// <summary>Empties the log once everything in it is safely in the chunk store.</summary>
    public void Truncate()
    {
        _file.SetLength(0);
        _length = 0;
        _file.Sync();
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Every intact record's readings, and the regions between them that hold none.</summary>
    private static LogContent Scan(IStoreFile file, Func<long, (SeriesKey Key, string Unit)?> catalogue)
    {
        var content = new LogContent();
        var length = file.Length;
        var header = new byte[HeaderBytes];

        // Records of the earlier format depend on the ones before them: they are read only from the start of the
        // file up to the first damage.
        var oldState = new DecodeState();
        var oldAllowed = true;
        long position = 0;
        while (position < length)
        {
            var size = TryRecordAt(file, position, length, header, catalogue, ref oldAllowed, oldState, content.Entries);
            if (size > 0)
            {
                position += size;
                continue;
            }

            oldAllowed = false;
            long found = 0;
            var next = position + 1;
            while ((next = FindMagic(file, next, length)) < length)
            {
                found = TryRecordAt(file, next, length, header, catalogue, ref oldAllowed, oldState, content.Entries);
                if (found > 0)
                    break;
                next++;
            }

            content.Damaged.Add((position, next - position));
            position = next < length ? next + found : length;
        }

        return content;
    }

    /// <summary>Reads the record at <paramref name="position"/> into <paramref name="entries"/>; returns its size, 0 when there is none.</summary>
    private static long TryRecordAt(IStoreFile file, long position, long length, byte[] header, Func<long, (SeriesKey Key, string Unit)?> catalogue, ref bool oldAllowed, DecodeState oldState, List<LogEntry> entries)
    {
        if (length - position < OldHeaderBytes || ReadFully(file, header.AsSpan(0, (int)Math.Min(HeaderBytes, length - position)), position) < OldHeaderBytes)
            return 0;
        var first = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (first == Magic)
        {
            if (length - position < HeaderBytes)
                return 0;
            var size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (size > MaxRecordBytes || position + HeaderBytes + size > length)
                return 0;
            var payload = new byte[size];
            if (ReadFully(file, payload, position + HeaderBytes) < size)
                return 0;
            var crc = new Crc32();
            crc.Append(header.AsSpan(4, 4));
            crc.Append(payload);
            if (crc.GetCurrentHashAsUInt32() != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8)))
                return 0;
            if (!LogRecordCodec.TryDeserialize(payload, new DecodeState(), catalogue, entries))
                return 0;
            oldAllowed = false;
            return HeaderBytes + size;
        }

        if (!oldAllowed || first > MaxRecordBytes || position + OldHeaderBytes + first > length)
            return 0;
        var old = new byte[first];
        if (ReadFully(file, old, position + OldHeaderBytes) < first || Crc32.HashToUInt32(old) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)))
            return 0;
        return LogRecordCodec.TryDeserialize(old, oldState, null, entries) ? OldHeaderBytes + first : 0;
    }

    /// <summary>The position of the next magic at or after <paramref name="from"/>, or <paramref name="length"/>.</summary>
    private static long FindMagic(IStoreFile file, long from, long length)
    {
        Span<byte> magic = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, Magic);
        var buffer = new byte[1 << 20];
        for (var at = from; at < length; at += buffer.Length - 3)
        {
            var read = ReadFully(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - at)), at);
            var index = buffer.AsSpan(0, read).IndexOf(magic);
            if (index >= 0)
                return at + index;
            if (read < buffer.Length)
                break;
        }

        return length;
    }

    private static int ReadFully(IStoreFile file, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = file.Read(buffer[total..], offset + total);
            if (read <= 0)
                break;
            total += read;
        }

        return total;
    }
}

/// <summary>What <see cref="WriteAheadLog.Open"/> found: the intact records' readings in order, and the regions between them that held none.</summary>
internal sealed class LogContent
{
    public List<LogEntry> Entries { get; } = [];

    public List<(long Offset, long Length)> Damaged { get; } = [];

    public long DamagedBytes => Damaged.Sum(d => d.Length);
}
