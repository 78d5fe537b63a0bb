using System.Collections.Concurrent;
using System.Threading.Channels;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Hub.Storage.Sqlite;

/// <summary>
/// Readings in one SQLite file (WAL, synchronous=FULL so that a committed append survives power loss).
/// One writer task takes every queued append into a single transaction: one fsync acknowledges them all.
/// Readers use their own pooled connections and never block the writer.
/// </summary>
public sealed class SqliteTimeSeriesStore : ITimeSeriesStore
{
    private const int SchemaVersion = 1;

    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly string _writeConnectionString;
    private readonly string _readConnectionString;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<SeriesKey, SeriesState> _series = new();
    private readonly SqliteConnection _writer;
    private readonly Task _writerLoop;
    private long _commits;
    private long _readingsAppended;
    private int _disposed;

    private SqliteTimeSeriesStore(SqliteStoreOptions options, ILogger logger, SqliteConnection writer)
    {
        _options = options;
        _logger = logger;
        _writer = writer;
        _writeConnectionString = writer.ConnectionString;
        _readConnectionString = new SqliteConnectionStringBuilder(writer.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString();
        LoadCatalogue();
        _writerLoop = Task.Factory.StartNew(WriterLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Opens (creating or recovering) the store in <see cref="SqliteStoreOptions.DataDirectory"/>.</summary>
    public static SqliteTimeSeriesStore Open(SqliteStoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.DataDirectory);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        var writer = new SqliteConnection(connectionString);
        try
        {
            writer.Open();
            Execute(writer, "PRAGMA journal_mode=WAL;");
            Execute(writer, "PRAGMA synchronous=FULL;");
            Execute(writer, "PRAGMA busy_timeout=30000;");
            Execute(writer, """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS series(
                    id INTEGER PRIMARY KEY,
                    device TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    point_count INTEGER NOT NULL DEFAULT 0,
                    first_t INTEGER NOT NULL,
                    last_t INTEGER NOT NULL,
                    last_v REAL NOT NULL,
                    UNIQUE(device, metric));
                CREATE TABLE IF NOT EXISTS points(
                    series_id INTEGER NOT NULL,
                    t INTEGER NOT NULL,
                    v REAL NOT NULL,
                    PRIMARY KEY(series_id, t)) WITHOUT ROWID;
                """);
            var version = Scalar(writer, "SELECT value FROM meta WHERE key='schema_version'");
            if (version is null)
                Execute(writer, $"INSERT INTO meta(key, value) VALUES('schema_version', '{SchemaVersion}')");
            else if (version as string != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"{options.DatabasePath} has schema version {version}; this hub reads version {SchemaVersion}.");
            return new SqliteTimeSeriesStore(options, logger ?? NullLogger.Instance, writer);
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    public ValueTask<AppendResult> AppendAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (readings.Count == 0)
            return ValueTask.FromResult(AppendResult.Empty);
        var pending = new PendingAppend(readings);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        // Cancelling stops the wait, not the write: once queued the readings are stored.
        return new ValueTask<AppendResult>(pending.Completion.Task.WaitAsync(cancellationToken));
    }

    public async ValueTask<IReadOnlyList<DataPoint>> ReadRangeAsync(SeriesKey series, long fromMs, long toMs, int limit, bool newestFirst = false, CancellationToken cancellationToken = default)
    {
        if (!_series.TryGetValue(series, out var state) || fromMs >= toMs || limit <= 0)
            return [];
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT t, v FROM points WHERE series_id=$s AND t>=$from AND t<$to ORDER BY t " + (newestFirst ? "DESC" : "ASC") + " LIMIT $limit";
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$from", fromMs);
        command.Parameters.AddWithValue("$to", toMs);
        command.Parameters.AddWithValue("$limit", limit);
        var points = new List<DataPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            points.Add(new DataPoint(reader.GetInt64(0), reader.GetDouble(1)));
        return points;
    }

    public async ValueTask<IReadOnlyList<AggregatePoint>> ReadAggregatedAsync(SeriesKey series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepMs);
        if (!_series.TryGetValue(series, out var state) || fromMs >= toMs)
            return [];
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (t / $step) * $step AS b, COUNT(*), SUM(v), MIN(v), MAX(v)
            FROM points WHERE series_id=$s AND t>=$from AND t<$to
            GROUP BY b ORDER BY b
            """;
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$from", fromMs);
        command.Parameters.AddWithValue("$to", toMs);
        command.Parameters.AddWithValue("$step", stepMs);
        var buckets = new List<AggregatePoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            buckets.Add(new AggregatePoint(reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4)));
        return buckets;
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
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            var file = new FileInfo(_options.DatabasePath + suffix);
            if (file.Exists)
                bytes += file.Length;
        }

        return new StoreStatistics(_series.Count, points, bytes, Interlocked.Read(ref _commits), Interlocked.Read(ref _readingsAppended));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _queue.Writer.TryComplete();
        await _writerLoop;
        try
        {
            Execute(_writer, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (SqliteException ex)
        {
            // A reader still holding a snapshot only delays the checkpoint; the WAL is replayed on next open.
            _logger.LogWarning(ex, "Checkpoint at close did not complete");
        }

        await _writer.DisposeAsync();
        SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
        SqliteConnection.ClearPool(new SqliteConnection(_writeConnectionString));
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_readConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private void LoadCatalogue()
    {
        using var command = _writer.CreateCommand();
        command.CommandText = "SELECT id, device, metric, unit, point_count, first_t, last_t, last_v FROM series";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var key = new SeriesKey(reader.GetString(1), reader.GetString(2));
            _series[key] = new SeriesState(reader.GetInt64(0), new SeriesInfo(key, reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetDouble(7)));
        }
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<PendingAppend>();
        using var statements = new WriterStatements(_writer);
        while (await _queue.Reader.WaitToReadAsync())
        {
            if (_options.CommitDelay > TimeSpan.Zero)
                await Task.Delay(_options.CommitDelay);
            batch.Clear();
            var readings = 0;
            while (readings < _options.MaxReadingsPerCommit && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                readings += pending.Readings.Count;
            }

            try
            {
                var results = Commit(batch, statements);
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _readingsAppended, readings);
                for (var i = 0; i < batch.Count; i++)
                    batch[i].Completion.TrySetResult(results[i]);
            }
            catch (Exception ex) when (ex is SqliteException or IOException or InvalidOperationException)
            {
                _logger.LogError(ex, "Commit of {Readings} readings failed; their senders are told so and may retry", readings);
                foreach (var pending in batch)
                    pending.Completion.TrySetException(new StoreWriteException("The store could not write the readings: " + ex.Message, ex));
                ReloadCatalogueAfterRollback();
            }
        }
    }

    private AppendResult[] Commit(List<PendingAppend> batch, WriterStatements statements)
    {
        var results = new AppendResult[batch.Count];
        var changed = new Dictionary<SeriesKey, SeriesState>();
        using var transaction = _writer.BeginTransaction();
        statements.Bind(transaction);
        for (var i = 0; i < batch.Count; i++)
        {
            var readings = batch[i].Readings;
            var stored = new List<Reading>(readings.Count);
            List<Reading>? conflicts = null;
            int inserted = 0, updated = 0, duplicates = 0;
            foreach (var reading in readings)
            {
                var state = changed.TryGetValue(reading.Series, out var c) ? c : _series.GetValueOrDefault(reading.Series);
                if (state is null)
                {
                    var id = statements.CreateSeries(reading);
                    state = new SeriesState(id, new SeriesInfo(reading.Series, reading.Unit, 0, reading.TimestampMs, reading.TimestampMs, reading.Value));
                }
                else if (!string.Equals(state.Info.Unit, reading.Unit, StringComparison.Ordinal))
                {
                    (conflicts ??= []).Add(reading);
                    continue;
                }

                switch (statements.Upsert(state.Id, reading.TimestampMs, reading.Value))
                {
                    case UpsertOutcome.Inserted:
                        inserted++;
                        stored.Add(reading);
                        state = state.WithPoint(reading, added: true);
                        break;
                    case UpsertOutcome.Updated:
                        updated++;
                        stored.Add(reading);
                        state = state.WithPoint(reading, added: false);
                        break;
                    default:
                        duplicates++;
                        break;
                }

                changed[reading.Series] = state;
            }

            results[i] = new AppendResult(stored, inserted, updated, duplicates, (IReadOnlyList<Reading>?)conflicts ?? []);
        }

        foreach (var state in changed.Values)
            statements.SaveSeries(new SeriesInfoRow(state.Id, state.Info.PointCount, state.Info.FirstMs, state.Info.LatestMs, state.Info.LatestValue));
        transaction.Commit();

        // Publish the catalogue only after the commit, so nobody sees a point that could still roll back.
        foreach (var (key, state) in changed)
            _series[key] = state;
        return results;
    }

    private void ReloadCatalogueAfterRollback()
    {
        try
        {
            _series.Clear();
            LoadCatalogue();
        }
        catch (SqliteException ex)
        {
            _logger.LogError(ex, "Reloading the series catalogue failed");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private sealed class PendingAppend(IReadOnlyList<Reading> readings)
    {
        public IReadOnlyList<Reading> Readings { get; } = readings;

        public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record SeriesState(long Id, SeriesInfo Info)
    {
        public SeriesState WithPoint(Reading reading, bool added)
        {
            var info = Info;
            var latest = reading.TimestampMs >= info.LatestMs;
            return this with
            {
                Info = info with
                {
                    PointCount = info.PointCount + (added ? 1 : 0),
                    FirstMs = Math.Min(info.FirstMs, reading.TimestampMs),
                    LatestMs = latest ? reading.TimestampMs : info.LatestMs,
                    LatestValue = latest ? reading.Value : info.LatestValue,
                },
            };
        }
    }
}

/// <summary>The store could not make an append durable; the readings were not acknowledged.</summary>
public sealed class StoreWriteException : Exception
{
    public StoreWriteException()
    {
    }

    public StoreWriteException(string message)
        : base(message)
    {
    }

    public StoreWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
