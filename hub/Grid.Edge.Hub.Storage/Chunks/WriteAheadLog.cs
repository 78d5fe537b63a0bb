using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
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
    private const byte RawValue = 0xFF;
    private const byte SameValue = 0xFE;
    private const byte StampFollows = 0xFD;
    private readonly IStoreFile _file;
    private readonly Dictionary<long, int> _numbers = [];

    // Per series number of the record being written: its last value, with the scale it was written at, so that the
    // next value's difference needs no second look at it.
    private readonly List<LastValue> _last = [];
    private readonly List<LogEntry> _fresh = [];
    private byte[] _record = new byte[1 << 16];
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
        var length = Serialize(readings);
        BinaryPrimitives.WriteUInt32LittleEndian(_record, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(4), (uint)length);
        var crc = new Crc32();
        crc.Append(_record.AsSpan(4, 4));
        crc.Append(_record.AsSpan(HeaderBytes, length));
        BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(8), crc.GetCurrentHashAsUInt32());
        _file.Write(_record.AsSpan(0, HeaderBytes + length), _length);
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
            if (!TryDeserialize(payload, new DecodeState(), catalogue, entries))
                return 0;
            oldAllowed = false;
            return HeaderBytes + size;
        }

        if (!oldAllowed || first > MaxRecordBytes || position + OldHeaderBytes + first > length)
            return 0;
        var old = new byte[first];
        if (ReadFully(file, old, position + OldHeaderBytes) < first || Crc32.HashToUInt32(old) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)))
            return 0;
        return TryDeserialize(old, oldState, null, entries) ? OldHeaderBytes + first : 0;
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

    /// <summary>Decodes a payload; on any inconsistency nothing is added and the state is as before.</summary>
    private static bool TryDeserialize(byte[] payload, DecodeState state, Func<long, (SeriesKey Key, string Unit)?>? catalogue, List<LogEntry> entries)
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
    private int Serialize(List<LogEntry> entries)
    {
        var at = HeaderBytes;
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

/// <summary>What <see cref="WriteAheadLog.Open"/> found: the intact records' readings in order, and the regions between them that held none.</summary>
internal sealed class LogContent
{
    public List<LogEntry> Entries { get; } = [];

    public List<(long Offset, long Length)> Damaged { get; } = [];

    public long DamagedBytes => Damaged.Sum(d => d.Length);
}

/// <summary>Series and last values while decoding: per record in this format, across records in the earlier one.</summary>
internal sealed class DecodeState
{
    public List<(SeriesKey Key, string Unit)> Series { get; } = [];

    public List<double?> LastValues { get; } = [];
}
