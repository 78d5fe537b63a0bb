using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
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
/// Checkpoints write changed buckets as compressed chunks,
/// with their 1-minute and 1-hour rollups, to the chunk store and then empty the log. Late data reopens its
/// bucket: the chunk is decoded, merged and written again, and its rollups recomputed. Recovery replays the log.
/// Every point has a write stamp (hybrid logical clock, origin): a first write's follows from its time and is not
/// stored; corrections and merged writes from other stores keep theirs, so that conflicting values resolve the
/// same way on every hub whatever the order they arrive in.
/// </summary>
public sealed class ChunkedTimeSeriesStore : ITimeSeriesStore
{
    private const long MinuteMs = 60_000;
    private const long HourMs = 3_600_000;
    private const long MaxStampableMs = StoreTime.Limit;

    // A bucket takes at most this many parts by appending them; then it is written whole again.
    private const int MaxAppendedParts = 64;

    private readonly ChunkStoreOptions _options;
    private readonly ILogger _logger;
    private readonly long _bucketMs;
    private readonly SqliteConnection _index;
    private readonly string _readConnectionString;
    private readonly StoreFiles _files;
    private WriteAheadLog _log = null!;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<SeriesKey, SeriesState> _series = new();
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<SeriesState> _changedSeries = [];
    private readonly List<LogEntry> _logged = [];

    // Buckets left in more parts than their points need, to be written whole by a checkpoint on time: each part
    // costs a header, restarts compression and leaves part of a page empty.
    private readonly HashSet<(SeriesState State, long Bucket)> _compactLater = [];
    private DateTimeOffset _lastCompaction;
    private readonly HybridLogicalClock _clock;
    private readonly List<string> _originNames = [];
    private readonly Dictionary<string, int> _originIds = new(StringComparer.Ordinal);
    private int _savedOrigins;
    private int _localOrigin;
    private Task _writerLoop = Task.CompletedTask;

    // Degraded: a log write or fsync failed; nothing is acknowledged until the log is recovered. Faulted: the
    // writer itself failed and stopped; nothing is acknowledged until the process starts again.
    private volatile string? _problem;
    private volatile Exception? _fault;
    private DateTimeOffset _nextRecovery;
    private long _logFailures;
    private long _recoveries;
    private readonly TaskCompletionSource<Exception> _faulted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly GroupUndo _undo = new();
    private GroupUndo? _journal;
    private List<PendingAppend>? _inFlight;
    private PendingAppend? _checkpointRequest;
    private long _nextSeriesId;
    private DateTimeOffset _lastCheckpoint;
    private DateTimeOffset _lastRetention = DateTimeOffset.MinValue;
    private long _commits;
    private long _readingsAppended;
    private long _chunkBytesWritten;
    private long _checkpoints;
    private long _droppedChunks;
    private long _droppedPoints;
    private long _pointsSinceCheckpoint;
    private long _releasedSinceCompaction;
    private DateTimeOffset _lastCommit;
    private static readonly TimeSpan CompactionPause = TimeSpan.FromSeconds(1);
    private int _disposed;

    private ChunkedTimeSeriesStore(ChunkStoreOptions options, ILogger logger, SqliteConnection index)
    {
        _options = options;
        _logger = logger;
        _files = options.Files;
        _bucketMs = (long)options.BucketDuration.TotalMilliseconds;
        _index = index;
        _readConnectionString = new SqliteConnectionStringBuilder(index.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString();
        _lastCheckpoint = options.Time.GetUtcNow();
        _clock = options.Clock ?? new HybridLogicalClock(options.Time, options.ClockPath);
        LoadCatalogue();
        LoadOrigins(options.Origin);
    }

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
        }
        catch
        {
            index.Dispose();
            throw;
        }

        try
        {
            store.OpenLog();
        }
        catch
        {
            store._log?.Dispose();
            index.Dispose();
            throw;
        }

        store._writerLoop = Task.Factory.StartNew(store.WriterLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        return store;
    }

    /// <summary>
    /// Opens the log and replays every intact record in it from before a crash; bytes that hold no readable record
    /// are first copied beside the log (quarantined), since the replay's checkpoint empties it.
    /// </summary>
    private void OpenLog()
    {
        var catalogue = _series.Values.ToDictionary(s => s.Id, s => (s.Info.Key, s.Info.Unit));
        _log = WriteAheadLog.Open(_files, _options.LogPath, id => catalogue.TryGetValue(id, out var known) ? known : null, out var content);
        if (content.Damaged.Count > 0)
        {
            var quarantined = _log.Quarantine(_files, _options.LogPath, content.Damaged, _options.Time.GetUtcNow());
            _logger.LogWarning(
                "The store's log held {Bytes} bytes in {Regions} region(s) that are no intact record (a write torn by a power cut, or damage); they were copied to {Files} and every intact record around them is replayed",
                content.DamagedBytes,
                content.Damaged.Count,
                string.Join(", ", quarantined));
        }

        if (content.Entries.Count > 0)
        {
            // Replayed like any append, but not logged again: the log already has it.
            Recover(content.Entries);
            _logger.LogInformation("Recovered {Count} readings from the store's log", content.Entries.Count);
        }
        else if (_log.Length > 0)
        {
            _log.Truncate();
        }
    }

    /// <summary>
    /// Completes (with the exception) when the store's writer failed unexpectedly and stopped: the store then
    /// acknowledges nothing, and the host should end the process so that it starts afresh from the log.
    /// </summary>
    public Task<Exception> Faulted => _faulted.Task;

    /// <summary>Ok, degraded (a log write failed: nothing is acknowledged until it recovers) or faulted, with the reason.</summary>
    public (StoreCondition Condition, string? Problem) Condition =>
        _fault is { } fault ? (StoreCondition.Faulted, "The store's writer failed and stopped (" + fault.Message + "); the hub must restart.")
        : _problem is { } problem ? (StoreCondition.Degraded, problem)
        : (StoreCondition.Ok, null);

    public ValueTask<AppendResult> AppendAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (readings.Count == 0)
            return ValueTask.FromResult(AppendResult.Empty);
        var pending = new PendingAppend(readings, AppendKind.Local);
        Enqueue(pending);
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
        Enqueue(pending);
        await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return pending.ColumnsResult!;
    }

    /// <summary>The origin name this store stamps its own writes with.</summary>
    public string Origin => _originNames[_localOrigin];

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
            if (Math.Abs(stamped.Reading.TimestampMs) >= MaxStampableMs || !double.IsFinite(stamped.Reading.Value))
                throw new ArgumentException($"Merged readings need a finite value and a time within {MaxStampableMs} ms of 1970 (series {stamped.Reading.Series.Id}).", nameof(readings));
        }

        var pending = new PendingAppend(readings.Select(r => r.Reading).ToArray(), AppendKind.Merge) { Stamps = readings.Select(r => (WriteStamp?)r.Stamp).ToList() };
        Enqueue(pending);
        return new ValueTask<AppendResult>(pending.Completion.Task.WaitAsync(cancellationToken));
    }

    /// <summary>Writes everything buffered to the chunk store now (e.g. before a backup); completes when done.</summary>
    public Task CheckpointAsync()
    {
        var pending = new PendingAppend([], AppendKind.Local) { CheckpointRequest = true };
        Enqueue(pending);
        return pending.Completion.Task;
    }

    private void Enqueue(PendingAppend pending)
    {
        if (_queue.Writer.TryWrite(pending))
            return;
        if (_fault is { } fault)
            throw new StoreWriteException("The store's writer failed and stopped; restart the hub.", fault);
        throw new ObjectDisposedException(GetType().FullName);
    }

    public IReadOnlyList<SeriesInfo> ListSeries() =>
        _series.Values.Select(s => s.Info).OrderBy(s => s.Key.Device, StringComparer.Ordinal).ThenBy(s => s.Key.Metric, StringComparer.Ordinal).ToList();

    public bool TryGetSeries(SeriesKey series, out SeriesInfo info)
    {
        if (_series.TryGetValue(series, out var state))
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
        foreach (var state in _series.Values)
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
        lock (_gate)
        {
            foreach (var state in _series.Values)
            {
                buffered += state.Buckets.Count;
                foreach (var buffer in state.Buckets.Values)
                {
                    dirty += buffer.Dirty ? 1 : 0;
                    open += buffer.OpenCount;
                }
            }
        }

        return new StoreStatistics(_series.Count, points, bytes, Interlocked.Read(ref _commits), Interlocked.Read(ref _readingsAppended))
        {
            BufferedBuckets = buffered,
            DirtyBuckets = dirty,
            OpenPoints = open,
            LogBytes = _log.Length,
            LastCheckpoint = _lastCheckpoint,
            LogBytesWritten = _log.BytesWritten,
            ChunkBytesWritten = Interlocked.Read(ref _chunkBytesWritten),
            LogFailures = Interlocked.Read(ref _logFailures),
            Recoveries = Interlocked.Read(ref _recoveries),
            Condition = Condition.Condition,
            Problem = Condition.Problem,
            Checkpoints = Interlocked.Read(ref _checkpoints),
            DroppedChunks = Interlocked.Read(ref _droppedChunks),
            DroppedPoints = Interlocked.Read(ref _droppedPoints),
        };
    }

    public async ValueTask<IReadOnlyList<DataPoint>> ReadRangeAsync(SeriesKey series, long fromMs, long toMs, int limit, bool newestFirst = false, CancellationToken cancellationToken = default)
    {
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        if (!_series.TryGetValue(series, out var state) || fromMs >= toMs || limit <= 0)
            return [];
        var result = new List<DataPoint>(Math.Min(limit, 4096));
        await foreach (var (times, values) in BucketsAsync(state, fromMs, toMs, newestFirst, cancellationToken))
        {
            if (newestFirst)
            {
                for (var i = times.Length - 1; i >= 0 && result.Count < limit; i--)
                {
                    if (times[i] >= fromMs && times[i] < toMs)
                        result.Add(new DataPoint(times[i], values[i]));
                }
            }
            else
            {
                for (var i = 0; i < times.Length && result.Count < limit; i++)
                {
                    if (times[i] >= fromMs && times[i] < toMs)
                        result.Add(new DataPoint(times[i], values[i]));
                }
            }

            if (result.Count >= limit)
                break;
        }

        return result;
    }

    public async ValueTask<PointColumns> ReadColumnsAsync(SeriesKey series, long fromMs, long toMs, int limit, CancellationToken cancellationToken = default)
    {
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        if (!_series.TryGetValue(series, out var state) || fromMs >= toMs || limit <= 0)
            return PointColumns.Empty;

        // Slices of whole decoded buckets, copied once into arrays of the exact size.
        var slices = new List<(long[] Times, double[] Values, int Start, int Count)>();
        var total = 0;
        await foreach (var (times, values) in BucketsAsync(state, fromMs, toMs, newestFirst: false, cancellationToken))
        {
            var start = LowerBound(times, fromMs);
            var end = LowerBound(times, toMs);
            var count = Math.Min(end - start, limit - total);
            if (count > 0)
            {
                slices.Add((times, values, start, count));
                total += count;
            }

            if (total >= limit)
                break;
        }

        var columns = new PointColumns(new long[total], new double[total]);
        var at = 0;
        foreach (var (times, values, start, count) in slices)
        {
            Array.Copy(times, start, columns.Times, at, count);
            Array.Copy(values, start, columns.Values, at, count);
            at += count;
        }

        return columns;
    }

    /// <summary>The index of the first time at or after <paramref name="t"/>.</summary>
    private static int LowerBound(long[] times, long t)
    {
        var index = Array.BinarySearch(times, t);
        return index >= 0 ? index : ~index;
    }

    public async ValueTask<IReadOnlyList<AggregatePoint>> ReadAggregatedAsync(SeriesKey series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default)
    {
        var all = await ReadAggregatedAsync([series], fromMs, toMs, stepMs, cancellationToken);
        return all[series];
    }

    public async ValueTask<IReadOnlyDictionary<SeriesKey, IReadOnlyList<AggregatePoint>>> ReadAggregatedAsync(IReadOnlyList<SeriesKey> series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepMs);

        // Clamped, bucket starts and tier bounds stay far from overflow for any step (a query may name any long).
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        var result = new Dictionary<SeriesKey, IReadOnlyList<AggregatePoint>>();
        await using var connection = await OpenReaderAsync(cancellationToken);
        using var sql = new Statements(connection);
        foreach (var key in series)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result[key] = _series.TryGetValue(key, out var state) && fromMs < toMs
                ? Aggregate(connection, sql, state, fromMs, toMs, stepMs)
                : [];
        }

        return result;
    }

    /// <summary>
    /// Aggregates of one series: the coarsest rollup tier whose buckets fit the step answers for the whole tier
    /// buckets inside the range (stored rollups for written buckets, the in-memory minutes of buckets still being
    /// written); the ragged ends and steps that fit no tier come from raw points.
    /// </summary>
    private List<AggregatePoint> Aggregate(SqliteConnection connection, Statements sql, SeriesState state, long fromMs, long toMs, long stepMs)
    {
        var output = new Dictionary<long, Accumulator>();
        ref Accumulator At(long t) =>
            ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(output, t >= 0 ? t / stepMs * stepMs : ((t + 1) / stepMs - 1) * stepMs, out _);
        void Add(long t, Accumulator part) => At(t).Add(part.Count, part.Sum, part.Min, part.Max);
        void AddPoint(long t, double v) => At(t).Add(v);

        var tierSize = stepMs % HourMs == 0 ? HourMs : stepMs % MinuteMs == 0 ? MinuteMs : 0;
        long inner = 0, innerEnd = 0;
        if (tierSize > 0)
        {
            inner = CeilDiv(fromMs, tierSize) * tierSize;
            innerEnd = toMs / tierSize * tierSize;
        }

        var tiered = tierSize > 0 && inner < innerEnd;
        var dirty = new HashSet<long>();
        if (tiered)
        {
            // Buckets with unwritten changes answer from their in-memory minutes; their stored rollups are older.
            lock (_gate)
            {
                foreach (var (start, buffer) in state.Buckets)
                {
                    if (buffer.Dirty && start + _bucketMs > inner && start < innerEnd)
                    {
                        dirty.Add(start);
                        buffer.AddMinutes(Math.Max(start, inner), Math.Min(start + _bucketMs, innerEnd), _bucketMs, Add);
                    }
                }
            }

            if (tierSize == MinuteMs)
            {
                using var reader = sql.Reader(
                    "SELECT bucket, data FROM minute_rollups WHERE series_id=$s AND bucket>=$from AND bucket<$to",
                    ("$s", state.Id), ("$from", BucketOf(inner)), ("$to", innerEnd));
                while (reader.Read())
                {
                    if (dirty.Contains(reader.GetInt64(0)))
                        continue;
                    foreach (var minute in RollupCodec.Decode((byte[])reader.GetValue(1)))
                    {
                        if (minute.Start >= inner && minute.Start < innerEnd)
                            Add(minute.Start, new Accumulator { Count = minute.Count, Sum = minute.Sum, Min = minute.Min, Max = minute.Max });
                    }
                }
            }
            else
            {
                using var reader = sql.Reader(
                    "SELECT bucket, count, sum, min, max FROM rollups WHERE series_id=$s AND tier=$tier AND bucket>=$from AND bucket<$to",
                    ("$s", state.Id), ("$tier", ChunkIndex.HourTier), ("$from", inner), ("$to", innerEnd));
                while (reader.Read())
                {
                    var hour = reader.GetInt64(0);
                    if (dirty.Contains(BucketOf(hour)))
                        continue;
                    Add(hour, new Accumulator { Count = reader.GetInt64(1), Sum = reader.GetDouble(2), Min = reader.GetDouble(3), Max = reader.GetDouble(4) });
                }
            }
        }

        foreach (var (rawFrom, rawTo) in tiered ? [(fromMs, inner), (innerEnd, toMs)] : new[] { (fromMs, toMs) })
        {
            if (rawFrom < rawTo)
                AddRawPoints(connection, state, rawFrom, rawTo, AddPoint);
        }

        var keys = output.Keys.ToArray();
        Array.Sort(keys);
        var result = new List<AggregatePoint>(keys.Length);
        foreach (var key in keys)
        {
            var acc = output[key];
            result.Add(new AggregatePoint(key, acc.Count, acc.Sum, acc.Min, acc.Max));
        }

        return result;
    }

    /// <summary>Every point of a series in [from, to): buckets in memory from their buffers, the others from their chunks.</summary>
    private void AddRawPoints(SqliteConnection connection, SeriesState state, long fromMs, long toMs, Action<long, double> add)
    {
        var inMemory = new HashSet<long>();
        lock (_gate)
        {
            foreach (var (start, buffer) in state.Buckets)
            {
                if (start + _bucketMs > fromMs && start < toMs)
                {
                    inMemory.Add(start);
                    buffer.ForEachPoint(fromMs, toMs, add);
                }
            }
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT bucket, data FROM chunks WHERE series_id=$s AND bucket>=$from AND bucket<$to";
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$from", BucketOf(fromMs));
        command.Parameters.AddWithValue("$to", toMs);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (inMemory.Contains(reader.GetInt64(0)))
                continue;
            var (times, values) = ChunkCodec.Decode((byte[])reader.GetValue(1));
            for (var i = 0; i < times.Length; i++)
            {
                if (times[i] >= fromMs && times[i] < toMs)
                    add(times[i], values[i]);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _queue.Writer.TryComplete();
        await _writerLoop;

        // After a fault memory may hold half a group: only the log is trusted, and it is replayed at the next start.
        if (_fault is null)
        {
            try
            {
                Checkpoint(whole: true);
                ChunkIndex.Execute(_index, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);");
            }
            catch (Exception ex) when (ex is IOException or SqliteException or UnauthorizedAccessException)
            {
                _logger.LogWarning(ex, "Final checkpoint did not complete; the log is replayed at the next start");
            }
        }

        _log.Dispose();
        await _index.DisposeAsync();
        SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        SqliteConnection.ClearPool(new SqliteConnection(_index.ConnectionString));
    }

    /// <summary>The start of the bucket holding <paramref name="t"/>; open-ended ranges (long.MinValue) clamp instead of wrapping.</summary>
    private long BucketOf(long t) =>
        t >= 0 ? t / _bucketMs * _bucketMs
        : t - long.MinValue < _bucketMs ? long.MinValue
        : ((t + 1) / _bucketMs - 1) * _bucketMs;

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : a / b;

    /// <summary>Copies of the bucket buffers of a series that overlap [from, to), keyed by bucket start.</summary>
    private Dictionary<long, (long[] Times, double[] Values)> BufferedBuckets(SeriesState state, long fromMs, long toMs)
    {
        var copies = new Dictionary<long, (long[], double[])>();
        lock (_gate)
        {
            foreach (var (start, buffer) in state.Buckets)
            {
                if (start + _bucketMs > fromMs && start < toMs)
                {
                    var (times, values, _) = buffer.Snapshot();
                    copies[start] = (times, values);
                }
            }
        }

        return copies;
    }

    /// <summary>
    /// The buckets of a series overlapping [from, to) in time order, each as its full sorted content: buffered
    /// buckets from memory (copied first, so a checkpoint in between cannot hide them), the rest decoded from chunks.
    /// </summary>
    private async IAsyncEnumerable<(long[] Times, double[] Values)> BucketsAsync(
        SeriesState state,
        long fromMs,
        long toMs,
        bool newestFirst,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffered = BufferedBuckets(state, fromMs, toMs);
        var memory = (newestFirst ? buffered.OrderByDescending(b => b.Key) : buffered.OrderBy(b => b.Key)).ToList();
        var next = 0;
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var order = newestFirst ? "DESC" : "ASC";
        command.CommandText = $"SELECT bucket, data FROM chunks WHERE series_id=$s AND bucket>=$from AND bucket<$to ORDER BY bucket {order}, part {order}";
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$from", BucketOf(fromMs));
        command.Parameters.AddWithValue("$to", toMs);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        long? fromMemory = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var bucket = reader.GetInt64(0);
            if (bucket == fromMemory)
                continue; // another part of a bucket already given whole from memory
            while (next < memory.Count && (newestFirst ? memory[next].Key > bucket : memory[next].Key < bucket))
                yield return memory[next++].Value;
            if (next < memory.Count && memory[next].Key == bucket)
            {
                fromMemory = bucket;
                yield return memory[next++].Value;
                continue;
            }

            yield return ChunkCodec.Decode((byte[])reader.GetValue(1));
        }

        while (next < memory.Count)
            yield return memory[next++].Value;
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        // Reads stay possible while a closing store writes its last checkpoint; after that the files are closed.
        ObjectDisposedException.ThrowIf(_index.State != System.Data.ConnectionState.Open, this);
        var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private void LoadCatalogue()
    {
        using var command = _index.CreateCommand();
        command.CommandText = "SELECT id, device, metric, unit, point_count, first_t, last_t, last_v FROM series";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var key = new SeriesKey(reader.GetString(1), reader.GetString(2));
            var id = reader.GetInt64(0);
            _series[key] = new SeriesState(id, new SeriesInfo(key, reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetDouble(7))) { Catalogued = true };
            _nextSeriesId = Math.Max(_nextSeriesId, id);
        }
    }

    private void Recover(List<LogEntry> entries)
    {
        var pending = new PendingAppend(entries.Select(e => e.Reading).ToArray(), AppendKind.Replay) { Stamps = entries.Select(e => e.Stamp).ToList() };
        var (_, _, touched) = ApplyGroup([pending], undo: null);
        Publish(touched);
        Checkpoint();
    }

    private async Task WriterLoopAsync()
    {
        try
        {
            await RunWriterAsync();
        }
        catch (Exception ex)
        {
            // Anything not foreseen (a bug, memory running out): memory may now be half-changed, so nothing more is
            // acknowledged; the log holds every acknowledged reading and is replayed when the process starts again.
            _fault = ex;
            _logger.LogCritical(ex, "The store's writer failed and stopped; no more readings are acknowledged until the hub restarts");
            var failure = new StoreWriteException("The store's writer failed and stopped: " + ex.Message, ex);
            foreach (var pending in _inFlight ?? [])
                pending.Completion.TrySetException(failure);
            _checkpointRequest?.Completion.TrySetException(failure);
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var queued))
                queued.Completion.TrySetException(failure);
            _faulted.TrySetResult(ex);
        }
    }

    private async Task RunWriterAsync()
    {
        var group = new List<PendingAppend>();
        _inFlight = group;

        // One wait at a time: a new one is asked for only once the previous has completed.
        Task<bool>? wait = null;
        while (true)
        {
            wait ??= _queue.Reader.WaitToReadAsync().AsTask();
            var now = _options.Time.GetUtcNow();
            var due = _problem is null ? _lastCheckpoint + _options.CheckpointInterval - now : _nextRecovery - now;
            var compact = _options.ReturnMemoryAfterPoints > 0 && _releasedSinceCompaction >= _options.ReturnMemoryAfterPoints;
            if (compact && !wait.IsCompleted)
            {
                var idle = _lastCommit + CompactionPause - now;
                if (idle <= TimeSpan.Zero)
                {
                    // After a backfill the runtime keeps the memory its buffers used, for the next burst that may
                    // never come; on a Raspberry Pi that memory is better given back.
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    _releasedSinceCompaction = 0;
                    continue;
                }

                due = due < idle ? due : idle;
            }

            if (!wait.IsCompleted && due > TimeSpan.Zero)
                await Task.WhenAny(wait, Task.Delay(due, _options.Time));
            if (wait.IsCompleted)
            {
                if (!await wait)
                    break;
                wait = null;
                if (_options.CommitDelay > TimeSpan.Zero)
                    await Task.Delay(_options.CommitDelay, _options.Time);
            }

            group.Clear();
            var readings = 0;
            PendingAppend? checkpointRequest = null;
            while (readings < _options.MaxReadingsPerCommit && checkpointRequest is null && _queue.Reader.TryRead(out var pending))
            {
                if (pending.CheckpointRequest)
                {
                    checkpointRequest = _checkpointRequest = pending;
                    break;
                }

                group.Add(pending);
                readings += pending.PointCount;
            }

            if (_problem is not null && (group.Count > 0 || _options.Time.GetUtcNow() >= _nextRecovery))
                TryRecover(force: false);
            if (group.Count > 0)
                CommitGroup(group, readings);
            if (checkpointRequest is not null)
            {
                try
                {
                    Checkpoint(whole: true);

                    // Asked for explicitly (before a backup, say): fold SQLite's own journal into the file too,
                    // so that chunks.db alone holds everything.
                    ChunkIndex.Execute(_index, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);");
                    checkpointRequest.Completion.TrySetResult(AppendResult.Empty);
                }
                catch (Exception ex) when (IsStorageError(ex))
                {
                    checkpointRequest.Completion.TrySetException(new StoreWriteException("Checkpoint failed: " + ex.Message, ex));
                }

                _checkpointRequest = null;
            }
            else if (_problem is not null)
            {
                // Checkpoints wait for the recovery (which is one).
            }
            else if (_options.Time.GetUtcNow() - _lastCheckpoint >= _options.CheckpointInterval)
            {
                TryCheckpoint(backfill: false);
            }
            else if (_log.Length >= _options.CheckpointLogBytes || Interlocked.Read(ref _pointsSinceCheckpoint) >= _options.CheckpointPoints)
            {
                TryCheckpoint(backfill: true);
            }
        }
    }

    /// <summary>Errors of the disk or of SQLite: an append or checkpoint fails and its caller is told; the writer goes on.</summary>
    private static bool IsStorageError(Exception ex) => ex is IOException or SqliteException or UnauthorizedAccessException;

    private void CommitGroup(List<PendingAppend> group, int readings)
    {
        if (_problem is { } problem)
        {
            Fail(group, new StoreWriteException(problem));
            return;
        }

        AppendResult[] results;
        List<LogEntry> stored;
        List<SeriesState> touched;
        _undo.Clear();
        try
        {
            (results, stored, touched) = ApplyGroup(group, _undo);
            if (stored.Count > 0)
            {
                _log.Append(stored);
                _log.Sync();
            }
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            // Memory gets back exactly what it held before the group: a resent reading is then new again, logged
            // and synced, never taken for a duplicate of one that was never durable.
            Undo(_undo);
            if (ex is not SqliteException)
                EnterDegraded(ex);
            _logger.LogError(ex, "Writing {Readings} readings failed; their senders are told so and may retry", readings);
            Fail(group, new StoreWriteException("The store could not write the readings: " + ex.Message, ex));
            return;
        }

        Publish(touched);
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _readingsAppended, readings);
        _lastCommit = _options.Time.GetUtcNow();
        for (var i = 0; i < group.Count; i++)
            group[i].Completion.TrySetResult(results[i]);
        if (_undo.CreatedSeries.Count > 0)
            CatalogueNewSeries(_undo.CreatedSeries);
    }

    /// <summary>
    /// Saves the series a durable group created in the chunk store's catalogue, so that later log records name them
    /// by their id (a few bytes) rather than by device, metric and unit. Saved with no points: the log holds them
    /// and the next checkpoint writes the series with its chunks. Nothing depends on it: if it fails, the log goes
    /// on naming the series by key.
    /// </summary>
    private void CatalogueNewSeries(List<SeriesState> created)
    {
        try
        {
            using (var transaction = _index.BeginTransaction())
            {
                using var sql = new Statements(_index, transaction);
                foreach (var state in created)
                {
                    var info = state.Info;
                    sql.Execute(
                        "INSERT INTO series(id, device, metric, unit, point_count, first_t, last_t, last_v) VALUES($id, $d, $m, $u, 0, $f, $l, $v) ON CONFLICT DO NOTHING",
                        ("$id", state.Id), ("$d", info.Key.Device), ("$m", info.Key.Metric), ("$u", info.Unit), ("$f", info.FirstMs), ("$l", info.LatestMs), ("$v", info.LatestValue));
                }

                _files.IndexCommitting();
                transaction.Commit();
            }

            _files.IndexCommitted();
            foreach (var state in created)
                state.Catalogued = true;
        }
        catch (SqliteException ex)
        {
            _logger.LogWarning(ex, "Saving {Count} new series in the chunk store's catalogue failed; the next checkpoint saves them", created.Count);
        }
    }

    private static void Fail(List<PendingAppend> group, StoreWriteException failure)
    {
        foreach (var pending in group)
            pending.Completion.TrySetException(failure);
    }

    /// <summary>A write or fsync of the log failed: nothing is acknowledged until <see cref="TryRecover"/> succeeds.</summary>
    private void EnterDegraded(Exception ex)
    {
        Interlocked.Increment(ref _logFailures);
        if (_problem is null)
            _nextRecovery = _options.Time.GetUtcNow();
        _problem = $"The store's log could not be written ({ex.Message}); no reading is acknowledged until the store has written what it holds to the chunk store and started a new log. It retries every {_options.RecoveryInterval.TotalSeconds:0.#} s.";
        _logger.LogError(ex, "The store's log could not be written; acknowledging nothing until it recovers");
    }

    /// <summary>
    /// Recovers from a failed log write: a checkpoint puts everything memory holds (every acknowledged reading, and
    /// nothing else) into the chunk store, then the log starts afresh in a new file (see <see cref="WriteAheadLog.Replace"/>).
    /// </summary>
    private void TryRecover(bool force)
    {
        var now = _options.Time.GetUtcNow();
        if (!force && now < _nextRecovery)
            return;
        try
        {
            Checkpoint();
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            _nextRecovery = now + _options.RecoveryInterval;
            _logger.LogWarning(ex, "The store could not recover from the failed log write yet; it tries again in {Seconds} s", _options.RecoveryInterval.TotalSeconds);
        }
    }

    private void TryCheckpoint(bool backfill)
    {
        try
        {
            Checkpoint(backfill);
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            // The log still holds everything: nothing is lost, the next checkpoint tries again.
            _logger.LogError(ex, "Checkpoint failed; the log keeps the readings until the next one succeeds");
            _lastCheckpoint = _options.Time.GetUtcNow();
        }
    }

    /// <summary>Makes the series changes of a durable group visible to readers and due for the next checkpoint.</summary>
    private void Publish(List<SeriesState> touched)
    {
        lock (_gate)
        {
            foreach (var state in touched)
            {
                state.Publish();
                _changedSeries.Add(state);
            }
        }
    }

    /// <summary>Puts memory back as it was before a group whose log record did not become durable.</summary>
    private void Undo(GroupUndo undo)
    {
        lock (_gate)
        {
            for (var i = undo.Points.Count - 1; i >= 0; i--)
            {
                var (buffer, t, existed, value, stamp) = undo.Points[i];
                if (existed)
                    buffer.Put(t, value, stamp);
                else
                    buffer.Remove(t);
            }

            foreach (var (buffer, (dirty, origin)) in undo.Buffers)
                buffer.RestoreFlags(dirty, origin);
            foreach (var (state, start, buffer) in undo.CreatedBuckets)
            {
                if (state.Buckets.TryGetValue(start, out var held) && ReferenceEquals(held, buffer))
                    state.Buckets.Remove(start);
            }

            foreach (var state in undo.CreatedSeries)
                _series.TryRemove(KeyValuePair.Create(state.Info.Key, state));
            foreach (var state in undo.Touched)
                state.Discard();
            _pointsSinceCheckpoint = undo.PointsSinceCheckpoint;
        }

        undo.Clear();
    }

    /// <summary>
    /// Applies appends to the bucket buffers; returns per-append results, the readings to log and the series whose
    /// changes are to be published once the group is durable. Every change is noted in <paramref name="undo"/>.
    /// </summary>
    private (AppendResult[] Results, List<LogEntry> Stored, List<SeriesState> Touched) ApplyGroup(List<PendingAppend> group, GroupUndo? undo)
    {
        // Buckets touched for the first time since they were written are loaded from their chunk first, so
        // that duplicates and late data are judged against everything stored.
        var toLoad = new HashSet<(SeriesState, long)>();
        lock (_gate)
        {
            foreach (var pending in group)
            {
                // The series of each reading is looked up once here and kept for the pass that applies it.
                var readings = pending.Readings;
                pending.States = new SeriesState?[readings.Length];
                for (var i = 0; i < readings.Length; i++)
                {
                    if (_series.TryGetValue(readings[i].Series, out var state))
                    {
                        pending.States[i] = state;
                        if (!state.Buckets.ContainsKey(BucketOf(readings[i].TimestampMs)))
                            toLoad.Add((state, BucketOf(readings[i].TimestampMs)));
                    }
                }

                if (pending.Columns is { } columns)
                {
                    pending.ColumnStates = new SeriesState?[columns.Length];
                    for (var c = 0; c < columns.Length; c++)
                    {
                        if (!_series.TryGetValue(columns[c].Series, out var state))
                            continue;
                        pending.ColumnStates[c] = state;
                        var last = long.MinValue;
                        foreach (var t in columns[c].Times)
                        {
                            var start = BucketOf(t);
                            if (start != last && !state.Buckets.ContainsKey(last = start))
                                toLoad.Add((state, start));
                        }
                    }
                }
            }
        }

        var loaded = toLoad.Select(item => (item.Item1, Buffer: LoadBucket(item.Item1, item.Item2))).ToList();

        var results = new AppendResult[group.Count];
        // One list for every group: a big group would otherwise allocate (and the collector clear) a new large array.
        var logged = _logged;
        logged.Clear();
        if (logged.Capacity > 4 * _options.MaxReadingsPerCommit)
            logged.Capacity = _options.MaxReadingsPerCommit;
        var touched = undo?.Touched ?? [];
        _journal = undo;
        if (undo is not null)
            undo.PointsSinceCheckpoint = _pointsSinceCheckpoint;
        lock (_gate)
        {
            foreach (var (state, buffer) in loaded)
                state.Buckets.TryAdd(buffer.Start, buffer);
            for (var p = 0; p < group.Count; p++)
            {
                var pending = group[p];
                var readings = pending.Readings;
                var stored = new List<Reading>(readings.Length);
                List<Reading>? conflicts = null;
                var counts = default(PutCounts);
                var superseded = 0;
                for (var i = 0; i < readings.Length; i++)
                {
                    var reading = readings[i];
                    var state = pending.States![i];
                    if (state is null && !_series.TryGetValue(reading.Series, out state))
                    {
                        state = new SeriesState(++_nextSeriesId, new SeriesInfo(reading.Series, reading.Unit, 0, reading.TimestampMs, reading.TimestampMs, reading.Value));
                        _series[reading.Series] = state;
                        undo?.CreatedSeries.Add(state);
                    }
                    else if (!string.Equals(state.Info.Unit, reading.Unit, StringComparison.Ordinal))
                    {
                        (conflicts ??= []).Add(reading);
                        continue;
                    }

                    var t = reading.TimestampMs;
                    var start = BucketOf(t);
                    if (!state.Buckets.TryGetValue(start, out var buffer))
                        buffer = NewBucket(state, start);
                    if (pending.Kind == AppendKind.Local)
                    {
                        if (counts.Add(PutLocal(state, buffer, reading, logged, touched)))
                            stored.Add(reading);
                        continue;
                    }

                    var found = buffer.TryFind(t, out var old, out var oldStamp);
                    var sameValue = found && BitConverter.DoubleToInt64Bits(old) == BitConverter.DoubleToInt64Bits(reading.Value);
                    var given = pending.Stamps![i] ?? WriteStamp.FirstWrite(t, Origin);
                    var stamp = new PointStamp(given.Hlc, OriginId(given.Origin));
                    _clock.Observe(given.Hlc);
                    if (pending.Kind == AppendKind.Merge && found)
                    {
                        var order = WriteStamp.Compare(given, reading.Value, new WriteStamp(oldStamp.Hlc, _originNames[oldStamp.Origin]), old);
                        if (order <= 0)
                        {
                            if (order < 0)
                                superseded++;
                            else
                                counts.Duplicates++;
                            continue;
                        }
                    }

                    var added = Put(buffer, t, reading.Value, stamp, found, old, oldStamp);
                    if (pending.Kind != AppendKind.Replay)
                        logged.Add(new LogEntry(reading, stamp == PointStamp.FirstWrite(t, _localOrigin) ? null : new WriteStamp(stamp.Hlc, _originNames[stamp.Origin]), state.Id, state.Catalogued));
                    if (sameValue)
                    {
                        // Only the stamp moved on (a merged write of the same value): kept so that later
                        // writes compare against it, but nothing a reader sees changed.
                        counts.Duplicates++;
                        continue;
                    }

                    if (state.Apply(reading, added))
                        touched.Add(state);
                    stored.Add(reading);
                    if (added)
                        counts.Inserted++;
                    else
                        counts.Updated++;
                }

                results[p] = new AppendResult(stored, counts.Inserted, counts.Updated, counts.Duplicates, (IReadOnlyList<Reading>?)conflicts ?? []) { Superseded = superseded };
                if (pending.Columns is not null)
                    pending.ColumnsResult = ApplyColumns(pending, logged, touched);
            }

        }

        _journal = null;
        return (results, logged, touched);
    }

    /// <summary>A new, empty buffer for a bucket not in memory (under the lock).</summary>
    private BucketBuffer NewBucket(SeriesState state, long start)
    {
        var buffer = new BucketBuffer(start);
        state.Buckets[start] = buffer;
        _journal?.CreatedBuckets.Add((state, start, buffer));
        return buffer;
    }

    /// <summary>Puts a point into its bucket (under the lock), noting for <see cref="Undo"/> what was there.</summary>
    private bool Put(BucketBuffer buffer, long t, double value, PointStamp stamp, bool found, double old, PointStamp oldStamp)
    {
        if (_journal is { } undo)
        {
            undo.Buffers.TryAdd(buffer, (buffer.Dirty, buffer.UsualOrigin));
            undo.Points.Add((buffer, t, found, old, oldStamp));
        }

        var added = buffer.Put(t, value, stamp);
        buffer.Dirty = true;
        _pointsSinceCheckpoint++;
        return added;
    }

    private enum LocalPut
    {
        Duplicate,
        Inserted,
        Updated,
    }

    private struct PutCounts
    {
        public int Inserted;
        public int Updated;
        public int Duplicates;

        /// <summary>Counts one outcome; false for a duplicate (nothing stored).</summary>
        public bool Add(LocalPut put)
        {
            switch (put)
            {
                case LocalPut.Duplicate:
                    Duplicates++;
                    return false;
                case LocalPut.Inserted:
                    Inserted++;
                    return true;
                default:
                    Updated++;
                    return true;
            }
        }
    }

    /// <summary>Puts a point written here into its bucket (under the lock): a new point gets its first-write stamp, a changed value the next clock value.</summary>
    private LocalPut PutLocal(SeriesState state, BucketBuffer buffer, in Reading reading, List<LogEntry> logged, List<SeriesState> touched)
    {
        var t = reading.TimestampMs;
        var found = buffer.TryFind(t, out var old, out var oldStamp);
        if (found && BitConverter.DoubleToInt64Bits(old) == BitConverter.DoubleToInt64Bits(reading.Value))
            return LocalPut.Duplicate;

        // A correction here is ordered after the value it corrects, wherever that was written.
        if (found)
            _clock.Observe(oldStamp.Hlc);
        var stamp = found ? new PointStamp(_clock.Next(), _localOrigin) : PointStamp.FirstWrite(t, _localOrigin);
        var added = Put(buffer, t, reading.Value, stamp, found, old, oldStamp);
        logged.Add(new LogEntry(reading, found ? new WriteStamp(stamp.Hlc, _originNames[stamp.Origin]) : null, state.Id, state.Catalogued));
        if (state.Apply(reading, added))
            touched.Add(state);
        return added ? LocalPut.Inserted : LocalPut.Updated;
    }

    /// <summary>
    /// The columns of one append, a series at a time: its state and each bucket are looked up once per run of
    /// points, not once per point. Stored columns are the given ones when every point was stored.
    /// </summary>
    private ColumnsAppendResult ApplyColumns(PendingAppend pending, List<LogEntry> logged, List<SeriesState> touched)
    {
        var columns = pending.Columns!;
        var stored = new List<SeriesColumns>(columns.Length);
        List<SeriesColumns>? conflicts = null;
        var counts = default(PutCounts);
        for (var c = 0; c < columns.Length; c++)
        {
            var series = columns[c];
            if (series.Count == 0)
                continue;
            var state = pending.ColumnStates![c];
            if (state is null && !_series.TryGetValue(series.Series, out state))
            {
                state = new SeriesState(++_nextSeriesId, new SeriesInfo(series.Series, series.Unit, 0, series.Times[0], series.Times[0], series.Values[0]));
                _series[series.Series] = state;
                _journal?.CreatedSeries.Add(state);
            }
            else if (!string.Equals(state.Info.Unit, series.Unit, StringComparison.Ordinal))
            {
                (conflicts ??= []).Add(series);
                continue;
            }

            BucketBuffer? buffer = null;
            long bucketStart = 0, bucketEnd = 0;
            bool[]? duplicate = null;
            var kept = 0;
            for (var i = 0; i < series.Times.Length; i++)
            {
                var t = series.Times[i];
                if (buffer is null || t < bucketStart || t >= bucketEnd)
                {
                    bucketStart = BucketOf(t);
                    bucketEnd = bucketStart + _bucketMs;
                    if (!state.Buckets.TryGetValue(bucketStart, out buffer))
                        buffer = NewBucket(state, bucketStart);
                }

                if (counts.Add(PutLocal(state, buffer, new Reading(series.Series, t, series.Values[i], series.Unit), logged, touched)))
                    kept++;
                else
                    (duplicate ??= new bool[series.Times.Length])[i] = true;
            }

            if (duplicate is null)
                stored.Add(series);
            else if (kept > 0)
            {
                var times = new long[kept];
                var values = new double[kept];
                for (int i = 0, k = 0; i < duplicate.Length; i++)
                {
                    if (!duplicate[i])
                        (times[k], values[k++]) = (series.Times[i], series.Values[i]);
                }

                stored.Add(series with { Times = times, Values = values });
            }
        }

        return new ColumnsAppendResult(stored, counts.Inserted, counts.Updated, counts.Duplicates, (IReadOnlyList<SeriesColumns>?)conflicts ?? []);
    }

    /// <summary>The number of an origin name, taking in a name not seen before (saved with the next checkpoint).</summary>
    private int OriginId(string name)
    {
        if (!_originIds.TryGetValue(name, out var id))
        {
            id = _originNames.Count;
            _originNames.Add(name);
            _originIds[name] = id;
        }

        return id;
    }

    private void LoadOrigins(string? configured)
    {
        using (var command = _index.CreateCommand())
        {
            command.CommandText = "SELECT id, name FROM origins ORDER BY id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetInt64(0) != _originNames.Count)
                    throw new InvalidDataException($"{_options.DatabasePath}: origin numbers are not consecutive; the file was changed by something else.");
                OriginId(reader.GetString(1));
            }
        }

        _savedOrigins = _originNames.Count;
        _localOrigin = OriginId(configured ?? (_originNames.Count > 0 ? _originNames[0] : "store-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))));
        _savedOrigins = SaveOrigins(null);
    }

    /// <summary>Writes the origins not yet saved; returns how many are saved once the transaction commits.</summary>
    /// <remarks>An origin already there (a commit that reported failure but happened) is left as it is.</remarks>
    private int SaveOrigins(SqliteTransaction? transaction)
    {
        var count = _originNames.Count;
        for (var id = _savedOrigins; id < count; id++)
        {
            using var command = _index.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO origins(id, name) VALUES($id, $name) ON CONFLICT DO NOTHING";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", _originNames[id]);
            command.ExecuteNonQuery();
        }

        return count;
    }

    private BucketBuffer LoadBucket(SeriesState state, long start)
    {
        var buffer = new BucketBuffer(start);
        buffer.LoadSealed(ReadParts(state.Id, start));
        return buffer;
    }

    /// <summary>A bucket's stored chunk parts, oldest first.</summary>
    private List<byte[]> ReadParts(long seriesId, long start)
    {
        using var command = _index.CreateCommand();
        command.CommandText = "SELECT data FROM chunks WHERE series_id=$s AND bucket=$b ORDER BY part";
        command.Parameters.AddWithValue("$s", seriesId);
        command.Parameters.AddWithValue("$b", start);
        var parts = new List<byte[]>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            parts.Add((byte[])reader.GetValue(0));
        return parts;
    }

    /// <summary>
    /// Writes every changed bucket as a chunk with its rollups, then empties the log. In a <paramref name="backfill"/>
    /// (a checkpoint called early by the amount written) buckets left in several parts are joined later, by the
    /// next checkpoint on time, not while the backfill waits. A <paramref name="whole"/> checkpoint (asked for, or
    /// at shutdown) writes changed buckets whole too, so that the store is left in as few parts as it can be.
    /// </summary>
    /// <remarks>
    /// Nothing in memory changes until the transaction has committed: a failed checkpoint leaves the store as it was
    /// (and the log holding everything), so the next one simply tries again. What the transaction decides to change
    /// in memory is collected in <c>afterCommit</c>. While the store is degraded, the log is replaced by a new file
    /// instead of emptied (the recovery).
    /// </remarks>
    private void Checkpoint(bool backfill = false, bool whole = false)
    {
        var watch = Stopwatch.StartNew();
        List<(SeriesState State, BucketBuffer Buffer)> dirty = [];
        List<SeriesState> changed;
        lock (_gate)
        {
            foreach (var state in _series.Values)
            {
                foreach (var buffer in state.Buckets.Values)
                {
                    // A bucket that took no points since the last checkpoint is done for now and leaves memory below;
                    // one written in more parts than its points need (appended checkpoint after checkpoint) is
                    // written whole.
                    if (buffer.Dirty)
                        dirty.Add((state, buffer));
                    else if (buffer.SealedParts > PartsFor(buffer.Count))
                        _compactLater.Add((state, buffer.Start));
                }
            }

            changed = [.. _changedSeries];
        }

        // Only this (the writer's) thread changes buffers, so their content can be read without the lock.
        var written = new Dictionary<BucketBuffer, List<byte[]>>();
        var afterCommit = new List<Action>();
        var retention = _options.Time.GetUtcNow() - _lastRetention >= TimeSpan.FromHours(1) || _options.DiskBudgetBytes is not null;
        if (dirty.Count > 0 || changed.Count > 0 || retention || _compactLater.Count > 0)
        {
            long chunkBytes = 0;
            using (var transaction = _index.BeginTransaction())
            {
                using var sql = new Statements(_index, transaction);
                int savedOrigins;
                lock (_gate)
                    savedOrigins = SaveOrigins(transaction);
                foreach (var state in changed)
                    SaveSeries(sql, state.Id, state.Info);
                foreach (var (state, buffer) in dirty)
                {
                    if (!whole && buffer.OnlyAppended && buffer.SealedParts < MaxAppendedParts)
                    {
                        written[buffer] = AppendBucket(sql, state.Id, buffer, ref chunkBytes);
                        continue;
                    }

                    var (times, values, stamps) = buffer.Snapshot();
                    written[buffer] = SaveBucket(sql, state.Id, buffer.Start, times, values, stamps, ref chunkBytes);
                }

                // A long backfill still has its parts joined once per checkpoint interval.
                if (!backfill || _options.Time.GetUtcNow() - _lastCompaction >= _options.CheckpointInterval)
                    CompactParts(sql, afterCommit, ref chunkBytes);

                if (retention)
                    ApplyRetention(sql, afterCommit);
                _files.IndexCommitting();
                transaction.Commit();
                _savedOrigins = savedOrigins;
            }

            _files.IndexCommitted();
            Interlocked.Add(ref _chunkBytesWritten, chunkBytes);
            lock (_gate)
            {
                foreach (var state in changed)
                {
                    state.Catalogued = true;
                    _changedSeries.Remove(state);
                }
            }

            foreach (var action in afterCommit)
                action();
            if (retention)
            {
                try
                {
                    ChunkIndex.Execute(_index, "PRAGMA incremental_vacuum;");
                }
                catch (SqliteException ex)
                {
                    _logger.LogWarning(ex, "Returning freed pages of the chunk store failed; the next retention run tries again");
                }
            }
        }

        Interlocked.Exchange(ref _pointsSinceCheckpoint, 0);
        long released = 0;
        lock (_gate)
        {
            // A written bucket keeps only its chunk (compressed) in memory, for the points still coming into it; a
            // bucket nothing was written to since the last checkpoint leaves memory (the next point loads it again).
            foreach (var state in _series.Values)
            {
                foreach (var (start, buffer) in state.Buckets.ToList())
                {
                    if (written.TryGetValue(buffer, out var chunk))
                    {
                        released += buffer.OpenCount;
                        buffer.Dirty = false;
                        buffer.Seal(chunk);
                    }
                    else if (!buffer.Dirty)
                    {
                        released += buffer.Count;
                        state.Buckets.Remove(start);
                    }
                }
            }
        }

        // After a backfill the runtime keeps the memory its buffers used, for the next burst that may never come;
        // on a Raspberry Pi that memory is better given back.
        _releasedSinceCompaction += released;

        _lastCheckpoint = _options.Time.GetUtcNow();
        Interlocked.Increment(ref _checkpoints);
        if (dirty.Count > 0)
            _logger.LogDebug("Checkpoint wrote {Buckets} chunks in {Ms} ms", dirty.Count, watch.ElapsedMilliseconds);
        ResetLog();
    }

    /// <summary>Empties the log now that the chunk store holds everything; while degraded, starts a new log file instead.</summary>
    private void ResetLog()
    {
        if (_problem is null)
        {
            try
            {
                _log.Truncate();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                EnterDegraded(ex);
                throw;
            }

            return;
        }

        var fresh = WriteAheadLog.Replace(_files, _options.LogPath, _log.BytesWritten);
        var old = _log;
        _log = fresh;
        old.Dispose();
        _problem = null;
        Interlocked.Increment(ref _recoveries);
        _logger.LogWarning("The store recovered from the failed log write: everything it held is in the chunk store, and a new log is in use");
    }

    private static void SaveSeries(Statements sql, long id, SeriesInfo info)
    {
        sql.Execute(
            """
            INSERT INTO series(id, device, metric, unit, point_count, first_t, last_t, last_v) VALUES($id, $d, $m, $u, $c, $f, $l, $v)
            ON CONFLICT(id) DO UPDATE SET point_count=excluded.point_count, first_t=excluded.first_t, last_t=excluded.last_t, last_v=excluded.last_v
            """,
            ("$id", id), ("$d", info.Key.Device), ("$m", info.Key.Metric), ("$u", info.Unit), ("$c", info.PointCount), ("$f", info.FirstMs), ("$l", info.LatestMs), ("$v", info.LatestValue));
    }

    /// <summary>Writes one bucket's chunk parts and rollups; returns the parts, oldest first.</summary>
    private List<byte[]> SaveBucket(Statements sql, long seriesId, long bucket, long[] times, double[] values, ChunkStampSet stamps, ref long chunkBytes)
    {
        sql.Execute("DELETE FROM chunks WHERE series_id=$s AND bucket=$b", ("$s", seriesId), ("$b", bucket));
        var data = new List<byte[]>();
        InsertParts(sql, seriesId, bucket, times, values, stamps, data, ref chunkBytes);
        SaveRollups(sql, seriesId, bucket, Rollups(times, values, MinuteMs), Rollups(times, values, HourMs), ref chunkBytes);
        return data;
    }

    private int PartsFor(int points) => Math.Max(1, (points + _options.MaxChunkPoints - 1) / _options.MaxChunkPoints);

    /// <summary>Writes the buckets waiting to be joined (see <see cref="Checkpoint"/>) whole, each in as few parts as its points need.</summary>
    private void CompactParts(Statements sql, List<Action> afterCommit, ref long chunkBytes)
    {
        foreach (var (state, start) in _compactLater)
        {
            // A bucket taking points again is written by the checkpoints (and joined once it is done again).
            bool busy;
            lock (_gate)
                busy = state.Buckets.TryGetValue(start, out var held) && held.Dirty;
            if (busy || !_series.ContainsKey(state.Info.Key))
                continue;
            var stored = ReadParts(state.Id, start);
            if (stored.Count <= 1)
                continue;
            var (times, values, stamps) = BucketBuffer.DecodeParts(stored);
            if (stored.Count <= PartsFor(times.Length))
                continue;
            var parts = SaveBucket(sql, state.Id, start, times, values, stamps, ref chunkBytes);
            afterCommit.Add(() =>
            {
                lock (_gate)
                {
                    if (state.Buckets.TryGetValue(start, out var held))
                        held.Seal(parts);
                }
            });
        }

        afterCommit.Add(() =>
        {
            _compactLater.Clear();
            _lastCompaction = _options.Time.GetUtcNow();
        });
    }

    /// <summary>
    /// Writes the points a bucket took after its stored parts as new parts, leaving the stored ones as they are: a
    /// bucket filling up over an hour is written once, not again at every checkpoint. Its rollups are the stored
    /// ones merged with those of the new points. Returns all parts, oldest first.
    /// </summary>
    private List<byte[]> AppendBucket(Statements sql, long seriesId, BucketBuffer buffer, ref long chunkBytes)
    {
        var (times, values, stamps) = buffer.OpenSnapshot();
        var data = new List<byte[]>(buffer.SealedData);

        // Parts numbered past those this buffer knows of come from a commit that reported failure but happened.
        sql.Execute("DELETE FROM chunks WHERE series_id=$s AND bucket=$b AND part>=$p", ("$s", seriesId), ("$b", buffer.Start), ("$p", data.Count));
        InsertParts(sql, seriesId, buffer.Start, times, values, stamps, data, ref chunkBytes);
        List<RollupEntry> stored = sql.Scalar("SELECT data FROM minute_rollups WHERE series_id=$s AND bucket=$b", ("$s", seriesId), ("$b", buffer.Start)) is byte[] packed
            ? [.. RollupCodec.Decode(packed)]
            : [];
        var minutes = Merge(stored, Rollups(times, values, MinuteMs), MinuteMs);
        SaveRollups(sql, seriesId, buffer.Start, minutes, Merge([], minutes, HourMs), ref chunkBytes);
        return data;
    }

    /// <summary>Rollups of <paramref name="later"/> (all at or after the last of <paramref name="earlier"/>) added to those, in buckets of <paramref name="size"/>.</summary>
    private static List<RollupEntry> Merge(List<RollupEntry> earlier, List<RollupEntry> later, long size)
    {
        var merged = new List<RollupEntry>(earlier.Count + later.Count);
        foreach (var entry in earlier.Concat(later))
        {
            var start = entry.Start / size * size;
            if (merged.Count > 0 && merged[^1].Start == start)
            {
                var last = merged[^1];
                merged[^1] = new RollupEntry(start, last.Count + entry.Count, last.Sum + entry.Sum, Math.Min(last.Min, entry.Min), Math.Max(last.Max, entry.Max), last.First, entry.Last);
            }
            else
                merged.Add(entry with { Start = start });
        }

        return merged;
    }

    /// <summary>Inserts points as parts of at most <see cref="ChunkStoreOptions.MaxChunkPoints"/>, numbered after those in <paramref name="parts"/>.</summary>
    private void InsertParts(Statements sql, long seriesId, long bucket, long[] times, double[] values, ChunkStampSet stamps, List<byte[]> parts, ref long chunkBytes)
    {
        var perPart = _options.MaxChunkPoints;
        for (var start = 0; start == 0 || start < times.Length; start += perPart)
        {
            var count = Math.Min(perPart, times.Length - start);
            var partStamps = new ChunkStampSet(stamps.UsualOrigin, stamps.Kept.Where(k => k.Index >= start && k.Index < start + count).Select(k => (k.Index - start, k.Stamp)).ToList());
            var part = ChunkCodec.Encode(times.AsSpan(start, count), values.AsSpan(start, count), partStamps);
            parts.Add(part);
            chunkBytes += part.Length;
            sql.Execute(
                "INSERT INTO chunks(series_id, bucket, part, count, min_t, max_t, data) VALUES($s, $b, $p, $c, $min, $max, $data)",
                ("$s", seriesId), ("$b", bucket), ("$p", parts.Count - 1), ("$c", count), ("$min", count > 0 ? times[start] : bucket), ("$max", count > 0 ? times[start + count - 1] : bucket), ("$data", part));
        }
    }

    private void SaveRollups(Statements sql, long seriesId, long bucket, List<RollupEntry> minutes, List<RollupEntry> hours, ref long chunkBytes)
    {
        var packed = RollupCodec.Encode(minutes);
        chunkBytes += packed.Length;
        sql.Execute("INSERT OR REPLACE INTO minute_rollups(series_id, bucket, minutes, data) VALUES($s, $b, $m, $data)", ("$s", seriesId), ("$b", bucket), ("$m", minutes.Count), ("$data", packed));
        sql.Execute(
            "DELETE FROM rollups WHERE series_id=$s AND tier=$tier AND bucket>=$from AND bucket<$to",
            ("$s", seriesId), ("$tier", ChunkIndex.HourTier), ("$from", bucket), ("$to", bucket + _bucketMs));
        foreach (var hour in hours)
        {
            sql.Execute(
                "INSERT INTO rollups(series_id, tier, bucket, count, sum, min, max, first, last) VALUES($s, $tier, $b, $c, $sum, $min, $max, $first, $last)",
                ("$s", seriesId), ("$tier", ChunkIndex.HourTier), ("$b", hour.Start), ("$c", hour.Count), ("$sum", hour.Sum), ("$min", hour.Min), ("$max", hour.Max), ("$first", hour.First), ("$last", hour.Last));
        }
    }

    /// <summary>
    /// Statements prepared once and run with new values: a checkpoint writes thousands of rows and a dashboard's read
    /// covers many series, and SQLite would otherwise parse the same text for every one of them.
    /// </summary>
    private sealed class Statements(SqliteConnection connection, SqliteTransaction? transaction = null) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public int Execute(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteNonQuery();

        public object? Scalar(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteScalar();

        public SqliteDataReader Reader(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteReader();

        private SqliteCommand Bind(string text, ReadOnlySpan<(string Name, object Value)> parameters)
        {
            if (!_commands.TryGetValue(text, out var command))
            {
                command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = text;
                foreach (var (name, _) in parameters)
                    command.Parameters.Add(new SqliteParameter { ParameterName = name });
                _commands[text] = command;
            }

            for (var i = 0; i < parameters.Length; i++)
                command.Parameters[i].Value = parameters[i].Value;
            return command;
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
                command.Dispose();
        }
    }

    private static List<RollupEntry> Rollups(long[] times, double[] values, long size)
    {
        var entries = new List<RollupEntry>();
        for (var i = 0; i < times.Length;)
        {
            var start = times[i] / size * size;
            var acc = new Accumulator();
            var j = i;
            for (; j < times.Length && times[j] < start + size; j++)
                acc.Add(1, values[j], values[j], values[j]);
            entries.Add(new RollupEntry(start, acc.Count, acc.Sum, acc.Min, acc.Max, values[i], values[j - 1]));
            i = j;
        }

        return entries;
    }

    /// <summary>Drops whole chunks (and rollups) past their retention, and the oldest ones beyond the disk budget.</summary>
    private void ApplyRetention(Statements sql, List<Action> afterCommit)
    {
        var now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var ran = _options.Time.GetUtcNow();
        afterCommit.Add(() => _lastRetention = ran);
        var drops = new Dictionary<SeriesState, (long Chunks, long Points, long? FirstMs, List<Func<long, bool>> Buckets)>();
        foreach (var state in _series.Values)
        {
            var rule = _options.Retention.FirstOrDefault(r => r.Matches(state.Info.Key.Id)) ?? RetentionRule.Default;
            if (rule.Raw is { } raw)
                DropChunks(sql, state, "bucket + $size <= $cut", now - (long)raw.TotalMilliseconds, start => start + _bucketMs <= now - (long)raw.TotalMilliseconds, drops);
            if (rule.Minute is { } minute)
            {
                sql.Execute(
                    "DELETE FROM minute_rollups WHERE series_id=$s AND bucket + $size <= $cut",
                    ("$s", state.Id), ("$size", _bucketMs), ("$cut", now - (long)minute.TotalMilliseconds));
            }

            if (rule.Hour is { } hour)
            {
                sql.Execute(
                    "DELETE FROM rollups WHERE series_id=$s AND tier=$tier AND bucket < $cut",
                    ("$s", state.Id), ("$tier", ChunkIndex.HourTier), ("$cut", now - (long)hour.TotalMilliseconds));
            }
        }

        if (_options.DiskBudgetBytes is { } budget)
        {
            for (var round = 0; round < 1000 && UsedBytes(sql) > budget; round++)
            {
                if (sql.Scalar("SELECT MIN(bucket) FROM chunks") is not long bucket)
                    break;
                foreach (var state in _series.Values)
                    DropChunks(sql, state, "bucket <= $cut", bucket, start => start <= bucket, drops);
            }
        }

        foreach (var (state, drop) in drops)
        {
            afterCommit.Add(() =>
            {
                Interlocked.Add(ref _droppedChunks, drop.Chunks);
                Interlocked.Add(ref _droppedPoints, drop.Points);
                lock (_gate)
                {
                    // Buffered copies of dropped buckets go too; a point written into them later starts them afresh.
                    foreach (var start in state.Buckets.Keys.Where(start => drop.Buckets.Any(dropped => dropped(start))).ToList())
                        state.Buckets.Remove(start);
                    state.Dropped(drop.Points, drop.FirstMs);
                }
            });
        }
    }

    /// <summary>Deletes a series' chunks matching <paramref name="condition"/>, adding up in <paramref name="drops"/> what memory is to forget once committed.</summary>
    private void DropChunks(Statements sql, SeriesState state, string condition, long cut, Func<long, bool> dropsBucket, Dictionary<SeriesState, (long Chunks, long Points, long? FirstMs, List<Func<long, bool>> Buckets)> drops)
    {
        long chunks, points;
        using (var reader = sql.Reader(
            $"SELECT COUNT(*), COALESCE(SUM(count), 0) FROM chunks WHERE series_id=$s AND {condition}",
            ("$s", state.Id), ("$size", _bucketMs), ("$cut", cut)))
        {
            reader.Read();
            chunks = reader.GetInt64(0);
            points = reader.GetInt64(1);
        }

        if (chunks == 0)
            return;
        sql.Execute($"DELETE FROM chunks WHERE series_id=$s AND {condition}", ("$s", state.Id), ("$size", _bucketMs), ("$cut", cut));
        var firstMs = sql.Scalar("SELECT MIN(min_t) FROM chunks WHERE series_id=$s", ("$s", state.Id)) as long?;
        var before = drops.TryGetValue(state, out var earlier) ? earlier : (0, 0, null, []);
        before.Buckets.Add(dropsBucket);
        drops[state] = (before.Chunks + chunks, before.Points + points, firstMs, before.Buckets);
        var info = state.Info;
        SaveSeries(sql, state.Id, info with { PointCount = Math.Max(0, info.PointCount - drops[state].Points), FirstMs = firstMs ?? info.LatestMs });
    }

    private static long UsedBytes(Statements sql)
    {
        using var reader = sql.Reader("SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())");
        reader.Read();
        return reader.GetInt64(0) * reader.GetInt64(1);
    }

    /// <summary>Per series and tier: points and bytes in the chunk store (for the storage API).</summary>
    public async Task<IReadOnlyList<SeriesStorage>> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var ids = _series.Values.ToDictionary(s => s.Id, s => s.Info.Key);
        var result = new Dictionary<long, SeriesStorage>();
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT series_id, COUNT(*), SUM(count), SUM(length(data)), MIN(bucket) FROM chunks GROUP BY series_id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (ids.TryGetValue(reader.GetInt64(0), out var key))
                    result[reader.GetInt64(0)] = new SeriesStorage(key, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), 0, 0);
            }
        }

        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT series_id, 1, SUM(minutes) FROM minute_rollups GROUP BY series_id UNION ALL SELECT series_id, tier, COUNT(*) FROM rollups GROUP BY series_id, tier";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (result.TryGetValue(reader.GetInt64(0), out var entry))
                {
                    result[reader.GetInt64(0)] = reader.GetInt32(1) == ChunkIndex.MinuteTier
                        ? entry with { MinuteRollups = reader.GetInt64(2) }
                        : entry with { HourRollups = reader.GetInt64(2) };
                }
            }
        }

        return result.Values.OrderBy(s => s.Key.Id, StringComparer.Ordinal).ToList();
    }

    private enum AppendKind
    {
        /// <summary>Written here: a new point gets its first-write stamp, a changed value a new clock value.</summary>
        Local,

        /// <summary>Written elsewhere with its stamp: kept only if it wins over what is stored.</summary>
        Merge,

        /// <summary>From the log at start: the winners of before, put back as they were.</summary>
        Replay,
    }

    private sealed class PendingAppend(IReadOnlyList<Reading> readings, AppendKind kind)
    {
        /// <summary>A copy in an array: the writer's loops then index it directly, not through an interface.</summary>
        public Reading[] Readings { get; } = readings as Reading[] ?? [.. readings];

        /// <summary>The series of each reading as found before applying the group (null: new).</summary>
        public SeriesState?[]? States { get; set; }

        public AppendKind Kind { get; } = kind;

        /// <summary>For merges and replays: each reading's stamp (null in a replay: a first write of this store).</summary>
        public List<WriteStamp?>? Stamps { get; init; }

        public bool CheckpointRequest { get; init; }

        /// <summary>Points given as columns, per series (applied after <see cref="Readings"/>).</summary>
        public SeriesColumns[]? Columns { get; init; }

        public SeriesState?[]? ColumnStates { get; set; }

        public ColumnsAppendResult? ColumnsResult { get; set; }

        public int PointCount => Readings.Length + (Columns?.Sum(c => c.Count) ?? 0);

        public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>What a group changed in memory, to be put back when its log record does not become durable.</summary>
    private sealed class GroupUndo
    {
        /// <summary>Each put, in order: the buffer, the time, and what was there before.</summary>
        public List<(BucketBuffer Buffer, long T, bool Existed, double Value, PointStamp Stamp)> Points { get; } = [];

        /// <summary>Each buffer's flags before its first put of the group.</summary>
        public Dictionary<BucketBuffer, (bool Dirty, int UsualOrigin)> Buffers { get; } = [];

        public List<(SeriesState State, long Start, BucketBuffer Buffer)> CreatedBuckets { get; } = [];

        public List<SeriesState> CreatedSeries { get; } = [];

        /// <summary>Series with changes not yet published.</summary>
        public List<SeriesState> Touched { get; } = [];

        public long PointsSinceCheckpoint { get; set; }

        public void Clear()
        {
            Points.Clear();
            Buffers.Clear();
            CreatedBuckets.Clear();
            CreatedSeries.Clear();
            Touched.Clear();
        }
    }

    private sealed class SeriesState(long id, SeriesInfo info)
    {
        public long Id { get; } = id;

        /// <summary>The chunk store holds this series (loaded from it, or saved by a committed checkpoint).</summary>
        public bool Catalogued { get; set; }

        /// <summary>Replaced whole on change, so readers never see a half-updated record.</summary>
        public SeriesInfo Info { get; private set; } = info;

        /// <summary>Buffers of the buckets being written; guarded by the store's lock.</summary>
        public Dictionary<long, BucketBuffer> Buckets { get; } = [];

        // Changes of a group of appends collect here and become one new Info at the end of the group: a series
        // taking a thousand readings in one message costs one record, not a thousand.
        private bool _pending;
        private long _count;
        private long _firstMs;
        private long _latestMs;
        private double _latestValue;

        /// <summary>Takes in a stored reading; true when it is the series' first change since it last published.</summary>
        public bool Apply(Reading reading, bool added)
        {
            var first = !_pending;
            if (first)
            {
                (_count, _firstMs, _latestMs, _latestValue) = (Info.PointCount, Info.FirstMs, Info.LatestMs, Info.LatestValue);
                _pending = true;
            }

            _count += added ? 1 : 0;
            _firstMs = Math.Min(_firstMs, reading.TimestampMs);
            if (reading.TimestampMs >= _latestMs)
                (_latestMs, _latestValue) = (reading.TimestampMs, reading.Value);
            return first;
        }

        /// <summary>Makes what <see cref="Apply"/> took in visible to readers.</summary>
        public void Publish()
        {
            if (!_pending)
                return;
            Info = Info with { PointCount = _count, FirstMs = _firstMs, LatestMs = _latestMs, LatestValue = _latestValue };
            _pending = false;
        }

        /// <summary>Forgets what <see cref="Apply"/> took in since the last <see cref="Publish"/> (the group was undone).</summary>
        public void Discard() => _pending = false;

        public void Dropped(long points, long? firstMs) =>
            Info = Info with { PointCount = Math.Max(0, Info.PointCount - points), FirstMs = firstMs ?? Info.LatestMs };
    }
}

/// <summary>What one series occupies in the chunk store.</summary>
public sealed record SeriesStorage(SeriesKey Key, long Chunks, long RawPoints, long RawBytes, long MinuteRollups, long HourRollups);
