using Grid.Edge.Hub.Storage.Chunks;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Testing.Storage;

/// <summary>An operation under the store that a fault or a power cut can hit.</summary>
internal enum DiskOp
{
    Write,
    Sync,
    SetLength,
    Move,
    SyncDirectory,

    /// <summary>A checkpoint's SQLite transaction about to commit (a fault: SQLITE_FULL/SQLITE_IOERR, not committed).</summary>
    IndexCommit,

    /// <summary>Right after it committed (a fault: SQLite reported an error although the commit happened).</summary>
    IndexCommitted,
}

/// <summary>
/// The store's own files (the log, quarantined bytes) in memory, as a disk with a page cache would keep them: what
/// was written is seen at once but survives a power cut only once fsynced, and a new or renamed file's name only
/// once its folder is synced. It fails chosen operations (ENOSPC, EIO, or SQLite's SQLITE_FULL and SQLITE_IOERR at
/// the checkpoint's commit) and cuts the power at a chosen operation.
/// </summary>
/// <remarks>
/// A power cut keeps, of each file, its synced content plus a random prefix of the writes made since (the last one
/// kept torn at a random byte, the file sometimes extended with zeros as if its size reached the disk before its
/// data). A failed fsync behaves as on Linux: some of the unsynced writes reached the disk, the rest are lost, and
/// a later fsync does not write them again. SQLite's files are real and are modelled at transaction granularity:
/// the power cut copies them as they are at that moment, between SQLite calls, which is what SQLite's own
/// recovery (WAL, fsync at commit) turns into "every committed transaction, nothing else"; a cut at the commit
/// seam is taken either just before the commit or just after it. SQLite's own fsync ordering is trusted, not tested.
/// </remarks>
internal sealed class SimulatedDisk : StoreFiles
{
    private readonly Lock _gate = new();
    private readonly Random _random;
    private readonly Dictionary<string, SimFile> _names = new(StringComparer.Ordinal);
    private Dictionary<string, SimFile> _durableNames = new(StringComparer.Ordinal);
    private readonly Dictionary<DiskOp, int> _counts = [];
    private readonly List<(DiskOp Op, int From, int Count, bool NoSpace)> _faults = [];
    private int _ops;

    public SimulatedDisk(int seed = 0) => _random = new Random(seed);

    /// <summary>The real folder holding SQLite's files, copied when the power is cut.</summary>
    public string? SqliteFolder { get; set; }

    /// <summary>Cut the power when this operation (counted over all kinds, from 1) starts.</summary>
    public int? CutPowerAtOp { get; set; }

    /// <summary>A torn last write at a power cut (false: a cut keeps exactly what was synced).</summary>
    public bool TearWrites { get; set; } = true;

    public bool PoweredOff { get; private set; }

    /// <summary>Every operation throws something no disk error is (a bug under the log).</summary>
    public bool Buggy { get; set; }

    /// <summary>While reset, every fsync waits (a slow card): the store's writer stalls and its queue fills.</summary>
    public ManualResetEventSlim SyncGate { get; } = new(initialState: true);

    /// <summary>Set by the power cut: the files as they would be found afterwards (name, content).</summary>
    public Dictionary<string, byte[]>? Image { get; private set; }

    public int Ops => _ops;

    public int Count(DiskOp op)
    {
        lock (_gate)
            return _counts.GetValueOrDefault(op);
    }

    /// <summary>Fails operations number <paramref name="from"/> to from + count - 1 of this kind (counted from 1).</summary>
    public void Fail(DiskOp op, int from, int count = 1, bool noSpace = true)
    {
        lock (_gate)
            _faults.Add((op, from, count, noSpace));
    }

    public void ClearFaults()
    {
        lock (_gate)
            _faults.Clear();
    }

    /// <summary>Cuts the power now: <see cref="Image"/> is what survives; every later operation fails.</summary>
    public void CutPower()
    {
        lock (_gate)
            CutPowerLocked();
    }

    /// <summary>What a power cut now would leave if it kept exactly what was synced (the power stays on).</summary>
    public Dictionary<string, byte[]> SnapshotSynced()
    {
        lock (_gate)
        {
            var image = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (path, file) in _durableNames)
                image[Path.GetFileName(path)] = file.AfterPowerCut(null);
            CopySqlite(image);
            return image;
        }
    }

    /// <summary>Writes the image of the last power cut (and the SQLite files copied then) into <paramref name="folder"/>.</summary>
    public void WriteImage(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, content) in Image ?? throw new InvalidOperationException("The power was not cut."))
            File.WriteAllBytes(Path.Combine(folder, name), content);
    }

    public override IStoreFile Open(string path, bool truncate = false)
    {
        lock (_gate)
        {
            if (!_names.TryGetValue(path, out var file))
                _names[path] = file = new SimFile();
            else if (truncate)
            {
                Step(DiskOp.SetLength);
                file.SetLength(0);
            }

            return new Handle(this, file);
        }
    }

    public override bool Exists(string path)
    {
        lock (_gate)
            return _names.ContainsKey(path);
    }

    public override void Move(string from, string to)
    {
        lock (_gate)
        {
            Step(DiskOp.Move);
            _names[to] = _names[from];
            _names.Remove(from);
        }
    }

    public override void SyncDirectory(string directory)
    {
        lock (_gate)
        {
            Step(DiskOp.SyncDirectory);
            _durableNames = new Dictionary<string, SimFile>(_names, StringComparer.Ordinal);
        }
    }

    public override void IndexCommitting()
    {
        lock (_gate)
            Step(DiskOp.IndexCommit);
    }

    public override void IndexCommitted()
    {
        lock (_gate)
            Step(DiskOp.IndexCommitted);
    }

    /// <summary>Counts an operation; fails it when a fault or the power cut says so.</summary>
    private void Step(DiskOp op, SimFile? tearing = null, Action? partial = null)
    {
        var index = _counts[op] = _counts.GetValueOrDefault(op) + 1;
        _ops++;
        if (PoweredOff)
            throw Failure(op, noSpace: false, "the power is off");
        if (Buggy)
            throw new InvalidOperationException("a bug below the log");
        if (_ops == CutPowerAtOp)
        {
            // The operation was under way: a write may be partly in the page cache, a commit done or not.
            // At the commit seam the cut comes before the commit, at the committed seam just after it.
            partial?.Invoke();
            CutPowerLocked();
            throw Failure(op, noSpace: false, "the power is off");
        }

        foreach (var (kind, from, count, noSpace) in _faults)
        {
            if (kind == op && index >= from && index < from + count)
            {
                partial?.Invoke();
                if (op == DiskOp.Sync && tearing is not null)
                    tearing.FailSync(_random);
                throw Failure(op, noSpace, noSpace ? "No space left on device" : "Input/output error");
            }
        }
    }

    private static Exception Failure(DiskOp op, bool noSpace, string message) => op is DiskOp.IndexCommit or DiskOp.IndexCommitted
        ? new SqliteException(noSpace ? "database or disk is full" : "disk I/O error", noSpace ? 13 /* SQLITE_FULL */ : 10 /* SQLITE_IOERR */)
        : new IOException(message, noSpace ? 28 /* ENOSPC */ : 5 /* EIO */);

    private void CutPowerLocked()
    {
        if (PoweredOff)
            return;
        PoweredOff = true;
        var image = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (path, file) in _durableNames)
            image[Path.GetFileName(path)] = file.AfterPowerCut(TearWrites ? _random : null);
        CopySqlite(image);
        Image = image;
    }

    private void CopySqlite(Dictionary<string, byte[]> image)
    {
        if (SqliteFolder is null)
            return;
        foreach (var name in new[] { "chunks.db", "chunks.db-wal" })
        {
            var path = Path.Combine(SqliteFolder, name);
            if (File.Exists(path))
                image[name] = ReadShared(path);
        }
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>One file (an inode): its content as seen, as synced, and the changes since the last sync.</summary>
    private sealed class SimFile
    {
        private readonly List<(long Offset, byte[]? Data, long Length)> _unsynced = [];
        private byte[] _content = [];
        private long _length;
        private byte[] _durable = [];

        public long Length => _length;

        public int Read(Span<byte> buffer, long offset)
        {
            if (offset >= _length)
                return 0;
            var count = (int)Math.Min(buffer.Length, _length - offset);
            _content.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            Apply(ref _content, ref _length, offset, data);
            _unsynced.Add((offset, data.ToArray(), 0));
        }

        public void SetLength(long length)
        {
            Truncate(ref _content, ref _length, length);
            _unsynced.Add((0, null, length));
        }

        /// <summary>Writes the changes since the last sync to the disk: only those (after a failed fsync, what it lost stays lost).</summary>
        public void Sync()
        {
            var content = _durable.ToArray();
            long length = content.Length;
            foreach (var (offset, data, newLength) in _unsynced)
            {
                if (data is null)
                    Truncate(ref content, ref length, newLength);
                else
                    Apply(ref content, ref length, offset, data);
            }

            _durable = content.AsSpan(0, (int)length).ToArray();
            _unsynced.Clear();
        }

        /// <summary>A failed fsync: some unsynced changes reached the disk, the rest never will (Linux marks them clean).</summary>
        public void FailSync(Random random)
        {
            _durable = AfterPowerCut(random);
            _unsynced.Clear();
        }

        /// <summary>What a power cut leaves: the synced content and a prefix of later changes, the last write torn.</summary>
        public byte[] AfterPowerCut(Random? random)
        {
            var content = _durable.ToArray();
            long length = content.Length;
            if (random is null || _unsynced.Count == 0)
                return content;
            var kept = random.Next(_unsynced.Count + 1);
            for (var i = 0; i < kept; i++)
            {
                var (offset, data, newLength) = _unsynced[i];
                if (data is null)
                {
                    Truncate(ref content, ref length, newLength);
                    continue;
                }

                if (i == kept - 1)
                {
                    // The last write reached the disk only in part; its size may have got there without its data.
                    var torn = random.Next(data.Length + 1);
                    Apply(ref content, ref length, offset, data.AsSpan(0, torn));
                    if (random.Next(3) == 0 && offset + data.Length > length)
                        Apply(ref content, ref length, offset + torn, new byte[data.Length - torn]);
                    continue;
                }

                Apply(ref content, ref length, offset, data);
            }

            return content.AsSpan(0, (int)length).ToArray();
        }

        private static void Apply(ref byte[] content, ref long length, long offset, ReadOnlySpan<byte> data)
        {
            var end = offset + data.Length;
            if (end > content.Length)
                Array.Resize(ref content, (int)Math.Max(end, content.Length * 2L));
            if (offset > length)
                content.AsSpan((int)length, (int)(offset - length)).Clear();
            data.CopyTo(content.AsSpan((int)offset));
            length = Math.Max(length, end);
        }

        private static void Truncate(ref byte[] content, ref long length, long newLength)
        {
            if (newLength > content.Length)
                Array.Resize(ref content, (int)newLength);
            if (newLength > length)
                content.AsSpan((int)length, (int)(newLength - length)).Clear();
            length = newLength;
        }
    }

    private sealed class Handle(SimulatedDisk disk, SimFile file) : IStoreFile
    {
        public long Length
        {
            get
            {
                lock (disk._gate)
                    return file.Length;
            }
        }

        public int Read(Span<byte> buffer, long offset)
        {
            lock (disk._gate)
                return file.Read(buffer, offset);
        }

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            var copy = data.ToArray();
            lock (disk._gate)
            {
                // A failing write may still have put part of its bytes in the page cache.
                disk.Step(DiskOp.Write, partial: () => file.Write(copy.AsSpan(0, disk._random.Next(copy.Length + 1)), offset));
                file.Write(copy, offset);
            }
        }

        public void SetLength(long length)
        {
            lock (disk._gate)
            {
                disk.Step(DiskOp.SetLength);
                file.SetLength(length);
            }
        }

        public void Sync()
        {
            disk.SyncGate.Wait(TimeSpan.FromSeconds(30));
            lock (disk._gate)
            {
                disk.Step(DiskOp.Sync, tearing: file);
                file.Sync();
            }
        }

        public void Dispose()
        {
        }
    }
}
