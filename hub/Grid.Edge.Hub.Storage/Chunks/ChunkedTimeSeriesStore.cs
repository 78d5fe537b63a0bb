using Grid.Edge.Hub.Storage.Changes;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The time-series engine (DESIGN.md section 4). An append is written to the log and synced (group commit: one
/// fsync for everything queued meanwhile) before its task completes, and applied to in-memory bucket buffers that
/// hold the buckets being written (what is already in the chunk store compressed, newer points as plain numbers).
/// A group reaches memory only once its log record is synced: when the write or the fsync fails, what the group
/// put in memory is undone exactly, its appends fail, and the store acknowledges nothing more (it is degraded)
/// until it has written what memory holds to the chunk store and started a new log file; it tries that itself.
/// Checkpoints write changed buckets as compressed chunks, with their 1-minute and 1-hour rollups, to the chunk
/// store and then empty the log. Late data reopens its bucket: the chunk is decoded, merged and written again, and
/// its rollups recomputed. Recovery replays the log. Every point has a write stamp (hybrid logical clock, origin): a
/// first write's follows from its time and is not stored; corrections and merged writes from other stores keep
/// theirs, so that conflicting values resolve the same way on every hub whatever the order they arrive in.
/// </summary>
/// <remarks>
/// The parts: <see cref="GroupCommitWriter"/> (the writer thread, the log and the degraded state),
/// <see cref="GroupApplier"/> (what a group changes in memory, and its undo), <see cref="Checkpointer"/> and
/// <see cref="Retention"/> (what reaches the chunk store, and what leaves it), <see cref="ChunkRepository"/> (the
/// SQL of the writer), <see cref="StoreReader"/> (every read) and <see cref="SeriesTable"/> (what they share).
/// </remarks>
public sealed class ChunkedTimeSeriesStore : ITimeSeriesStore
{
    private readonly ChunkStoreOptions _options;
    private readonly SqliteConnection _index;
    private readonly string _readConnectionString;
    private readonly SeriesTable _table;
    private readonly OriginRegistry _origins;
    private readonly Retention _retention;
    private readonly Checkpointer _checkpointer;
    private readonly GroupCommitWriter _writer;
    private readonly StoreReader _reader;
    private readonly ChangeReader _changes;
    private int _disposed;

    private ChunkedTimeSeriesStore(ChunkStoreOptions options, ILogger logger, SqliteConnection index)
    {
        _options = options;
        _index = index;
        _readConnectionString = new SqliteConnectionStringBuilder(index.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString();
        _table = new SeriesTable((long)options.BucketDuration.TotalMilliseconds);
        var chunks = new ChunkRepository(index, options.Files, _table.BucketMs, options.MaxChunkPoints);
        chunks.LoadCatalogue(_table);
        // The clock first: a damaged clock file stops the open before anything is written to the chunk store.
        var clock = options.Clock ?? new HybridLogicalClock(options.Time, options.ClockPath);
        _origins = OriginRegistry.Load(index, options.Origin, options.DatabasePath);
        _retention = new Retention(_table, options, logger);
        _checkpointer = new Checkpointer(_table, chunks, _origins, _retention, options, logger);
        var applier = new GroupApplier(_table, chunks, _origins, clock, options.MaxReadingsPerCommit);
        _writer = new GroupCommitWriter(_table, chunks, applier, _checkpointer, options, logger);
        _reader = new StoreReader(_table, _readConnectionString, () => _index.State == System.Data.ConnectionState.Open);
        _changes = new ChangeReader(_table, _origins, _reader.OpenAsync);
    }

    /// <summary>
    /// Completes (with the exception) when the store's writer failed unexpectedly and stopped: the store then
    /// acknowledges nothing, and the host should end the process so that it starts afresh from the log.
    /// </summary>
    public Task<Exception> Faulted => _writer.Faulted;

    /// <summary>Ok, degraded (a log write failed: nothing is acknowledged until it recovers) or faulted, with the reason.</summary>
    public (StoreCondition Condition, string? Problem) Condition =>
        _writer.Fault is { } fault ? (StoreCondition.Faulted, "The store's writer failed and stopped (" + fault.Message + "); the hub must restart.")
        : _writer.Problem is { } problem ? (StoreCondition.Degraded, problem)
        : (StoreCondition.Ok, null);

    /// <summary>How long a bucket is: buckets start at multiples of it since the Unix epoch.</summary>
    public TimeSpan BucketDuration => _options.BucketDuration;

    /// <summary>The origin name this store stamps its own writes with.</summary>
    public string Origin => _origins.LocalName;

    /// <summary>Opens the store, replaying what the log holds from before a crash.</summary>
    public static ChunkedTimeSeriesStore Open(ChunkStoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BucketDuration < TimeSpan.FromHours(1) || options.BucketDuration.Ticks % TimeSpan.TicksPerHour != 0)
            throw new ArgumentException("BucketDuration must be a whole number of hours, so that rollup buckets never straddle chunks.", nameof(options));
        if (options.MaxChunkPoints < 16)
            throw new ArgumentException("MaxChunkPoints must be at least 16.", nameof(options));
        logger ??= NullLogger.Instance;
        Directory.CreateDirectory(options.DataDirectory);
        var index = ChunkIndex.Open(options.DatabasePath, (long)options.BucketDuration.TotalMilliseconds);
        ChunkedTimeSeriesStore store;
        try
        {
            store = new ChunkedTimeSeriesStore(options, logger, index);
            store._writer.OpenLog();
        }
        catch
        {
            index.Dispose();
            throw;
        }

        store._writer.Start();
        return store;
    }

    public ValueTask<AppendResult> AppendAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (readings.Count == 0)
            return ValueTask.FromResult(AppendResult.Empty);
        var pending = new PendingAppend(readings, AppendKind.Local);
        _writer.Enqueue(pending);
        return new ValueTask<AppendResult>(pending.Completion.Task.WaitAsync(cancellationToken));
    }

    public async ValueTask<ColumnsAppendResult> AppendColumnsAsync(IReadOnlyList<SeriesColumns> columns, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        foreach (var series in columns)
        {
            if (series.Times.Length != series.Values.Length)
                throw new ArgumentException($"Series {series.Series.Id} has {series.Times.Length} times and {series.Values.Length} values.", nameof(columns));
        }

        if (columns.Count == 0)
            return ColumnsAppendResult.Empty;
        var pending = new PendingAppend([], AppendKind.Local) { Columns = [.. columns] };
        _writer.Enqueue(pending);
        await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return pending.ColumnsResult!;
    }

    public ValueTask<AppendResult> MergeAsync(IReadOnlyList<StampedReading> readings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (readings.Count == 0)
            return ValueTask.FromResult(AppendResult.Empty);
        foreach (var stamped in readings)
        {
            if (string.IsNullOrEmpty(stamped.Stamp.Origin) || stamped.Stamp.Origin.Length > 200)
                throw new ArgumentException("Every merged reading needs the origin that wrote it (1 to 200 characters).", nameof(readings));

            // A clock value holds milliseconds shifted past the counter bits; times beyond this would wrap around.
            if (Math.Abs(stamped.Reading.TimestampMs) >= StoreTime.Limit || !double.IsFinite(stamped.Reading.Value))
                throw new ArgumentException($"Merged readings need a finite value and a time within {StoreTime.Limit} ms of 1970 (series {stamped.Reading.Series.Id}).", nameof(readings));
        }

        var pending = new PendingAppend(readings.Select(r => r.Reading).ToArray(), AppendKind.Merge) { Stamps = readings.Select(r => (WriteStamp?)r.Stamp).ToList() };
        _writer.Enqueue(pending);
        return new ValueTask<AppendResult>(pending.Completion.Task.WaitAsync(cancellationToken));
    }

    /// <summary>Writes everything buffered to the chunk store now (e.g. before a backup); completes when done.</summary>
    public Task CheckpointAsync()
    {
        var pending = new PendingAppend([], AppendKind.Local) { CheckpointRequest = true };
        _writer.Enqueue(pending);
        return pending.Completion.Task;
    }

    public IReadOnlyList<SeriesInfo> ListSeries() =>
        _table.Series.Values.Select(s => s.Info).OrderBy(s => s.Key.Device, StringComparer.Ordinal).ThenBy(s => s.Key.Metric, StringComparer.Ordinal).ToList();

    public bool TryGetSeries(SeriesKey series, out SeriesInfo info)
    {
        if (_table.Series.TryGetValue(series, out var state))
        {
            info = state.Info;
            return true;
        }

        info = null!;
        return false;
    }

    public StoreStatistics GetStatistics()
    {
        long points = 0;
        foreach (var state in _table.Series.Values)
            points += state.Info.PointCount;
        long bytes = 0;
        foreach (var path in new[] { _options.DatabasePath, _options.DatabasePath + "-wal", _options.DatabasePath + "-shm", _options.LogPath })
        {
            var file = new FileInfo(path);
            if (file.Exists)
                bytes += file.Length;
        }

        int buffered = 0, dirty = 0;
        long open = 0;
        lock (_table.Gate)
        {
            foreach (var state in _table.Series.Values)
            {
                buffered += state.Buckets.Count;
                foreach (var buffer in state.Buckets.Values)
                {
                    dirty += buffer.Dirty ? 1 : 0;
                    open += buffer.OpenCount;
                }
            }
        }

        var condition = Condition;
        return new StoreStatistics(_table.Series.Count, points, bytes, _writer.Commits, _writer.ReadingsAppended)
        {
            BufferedBuckets = buffered,
            DirtyBuckets = dirty,
            OpenPoints = open,
            LogBytes = _writer.LogBytes,
            LastCheckpoint = _checkpointer.LastCheckpoint,
            LogBytesWritten = _writer.LogBytesWritten,
            ChunkBytesWritten = _checkpointer.ChunkBytesWritten,
            LogFailures = _writer.LogFailures,
            Recoveries = _writer.Recoveries,
            Condition = condition.Condition,
            Problem = condition.Problem,
            Checkpoints = _checkpointer.Checkpoints,
            DroppedChunks = _retention.DroppedChunks,
            DroppedPoints = _retention.DroppedPoints,
        };
    }

    public ValueTask<IReadOnlyList<DataPoint>> ReadRangeAsync(SeriesKey series, long fromMs, long toMs, int limit, bool newestFirst = false, CancellationToken cancellationToken = default) =>
        _reader.ReadRangeAsync(series, fromMs, toMs, limit, newestFirst, cancellationToken);

    public ValueTask<PointColumns> ReadColumnsAsync(SeriesKey series, long fromMs, long toMs, int limit, CancellationToken cancellationToken = default) =>
        _reader.ReadColumnsAsync(series, fromMs, toMs, limit, cancellationToken);

    public async ValueTask<IReadOnlyList<AggregatePoint>> ReadAggregatedAsync(SeriesKey series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default)
    {
        var all = await _reader.ReadAggregatedAsync([series], fromMs, toMs, stepMs, cancellationToken);
        return all[series];
    }

    public ValueTask<IReadOnlyDictionary<SeriesKey, IReadOnlyList<AggregatePoint>>> ReadAggregatedAsync(IReadOnlyList<SeriesKey> series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default) =>
        _reader.ReadAggregatedAsync(series, fromMs, toMs, stepMs, cancellationToken);

    /// <summary>Per series and tier: points and bytes in the chunk store (for the storage API).</summary>
    public Task<IReadOnlyList<SeriesStorage>> DescribeAsync(CancellationToken cancellationToken = default) => _reader.DescribeAsync(cancellationToken);

    /// <summary>
    /// The buckets whose points changed after <paramref name="since"/> (0: every bucket stored), oldest change first,
    /// at most <paramref name="limit"/>. Changes reach this list when a checkpoint writes them (at most
    /// <see cref="ChunkStoreOptions.CheckpointInterval"/> after they were acknowledged); a bucket changed again moves
    /// to the end with a new number. Buckets retention dropped in every tier are not listed.
    /// </summary>
    public Task<BucketChangePage> ReadChangesAsync(long since, int limit, CancellationToken cancellationToken = default) =>
        _changes.ReadChangesAsync(since, limit, cancellationToken);

    /// <summary>One bucket's raw points as the store holds them now, each with its write stamp; null for a series it does not hold.</summary>
    public Task<StampedBucket?> ReadStampedBucketAsync(SeriesKey series, long bucketStart, CancellationToken cancellationToken = default) =>
        _changes.ReadStampedBucketAsync(series, bucketStart, cancellationToken);

    /// <summary>One bucket's minute or hour summaries as the store holds them now.</summary>
    public Task<IReadOnlyList<RollupEntry>> ReadRollupsAsync(SeriesKey series, long bucketStart, StoreTier tier, CancellationToken cancellationToken = default) =>
        _changes.ReadRollupsAsync(series, bucketStart, tier, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _writer.StopAsync();
        await _index.DisposeAsync();
        SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        SqliteConnection.ClearPool(new SqliteConnection(_index.ConnectionString));
    }
}
