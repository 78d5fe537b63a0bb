using Microsoft.Data.Sqlite;

namespace Grid.Edge.Agent.Outbox;

/// <summary>
/// The durable outbox: every reading is in SQLite (WAL, synchronous=FULL) before anything tries to send it, and
/// leaves only when the hub acknowledged it. Bounded by count and age; what the bounds drop is counted in the
/// database so the count survives restarts and reaches the hub as the dropped_readings metric.
/// One connection, used under a lock: the writer and the publisher are the only users.
/// </summary>
public sealed class SqliteOutbox : IDisposable
{
    private readonly Lock _sync = new();
    private readonly SqliteConnection _connection;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;

    public SqliteOutbox(string path, OutboxOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY AUTOINCREMENT, metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, t INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO counters VALUES ('dropped', 0);
            """);
    }

    /// <summary>Readings waiting for the hub.</summary>
    public long Count
    {
        get
        {
            lock (_sync)
                return Scalar("SELECT count(*) FROM readings");
        }
    }

    /// <summary>Readings dropped by the bounds since the outbox was created.</summary>
    public long Dropped
    {
        get
        {
            lock (_sync)
                return Scalar("SELECT value FROM counters WHERE name = 'dropped'");
        }
    }

    /// <summary>When the oldest waiting reading was taken, or null when nothing waits.</summary>
    public long? OldestTimestampMs
    {
        get
        {
            lock (_sync)
            {
                using var command = _connection.CreateCommand();
                command.CommandText = "SELECT t FROM readings ORDER BY id LIMIT 1";
                return command.ExecuteScalar() is long t ? t : null;
            }
        }
    }

    /// <summary>Stores readings durably in one transaction, then enforces the bounds.</summary>
    public void Add(IReadOnlyCollection<OutboxReading> readings)
    {
        if (readings.Count == 0)
            return;
        lock (_sync)
        {
            using var transaction = _connection.BeginTransaction();
            using var insert = _connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO readings (metric, value, unit, t) VALUES ($m, $v, $u, $t)";
            var metric = insert.Parameters.Add("$m", SqliteType.Text);
            var value = insert.Parameters.Add("$v", SqliteType.Real);
            var unit = insert.Parameters.Add("$u", SqliteType.Text);
            var time = insert.Parameters.Add("$t", SqliteType.Integer);
            foreach (var reading in readings)
            {
                metric.Value = reading.Metric;
                value.Value = reading.Value;
                unit.Value = reading.Unit;
                time.Value = reading.TimestampMs;
                insert.ExecuteNonQuery();
            }

            Drop(transaction, "DELETE FROM readings WHERE id <= (SELECT max(id) FROM readings) - $max", ("$max", _options.MaxReadings));
            transaction.Commit();
        }
    }

    /// <summary>The oldest readings, up to <paramref name="limit"/>.</summary>
    public List<StoredReading> Peek(int limit)
    {
        lock (_sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT id, metric, value, unit, t FROM readings ORDER BY id LIMIT $limit";
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var batch = new List<StoredReading>(limit);
            while (reader.Read())
                batch.Add(new StoredReading(reader.GetInt64(0), new OutboxReading(reader.GetString(1), reader.GetDouble(2), reader.GetString(3), reader.GetInt64(4))));
            return batch;
        }
    }

    /// <summary>Forgets readings up to and including <paramref name="lastId"/>: the hub acknowledged them.</summary>
    public void Remove(long lastId)
    {
        lock (_sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM readings WHERE id <= $id";
            command.Parameters.AddWithValue("$id", lastId);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Drops readings older than the age bound (the count bound is kept on every add). Called periodically: readings
    /// are taken in time order, so the old ones sit at the head and the scan stops early.
    /// </summary>
    public long EnforceAge()
    {
        var oldestAllowed = _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)(_options.MaxAgeDays * 86_400_000);
        long total = 0;
        while (true)
        {
            lock (_sync)
            {
                using var transaction = _connection.BeginTransaction();
                var dropped = Drop(transaction, "DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE t < $oldest ORDER BY id LIMIT 20000)", ("$oldest", oldestAllowed));
                transaction.Commit();
                total += dropped;
                if (dropped < 20000)
                    return total;
            }
        }
    }

    public void Dispose() => _connection.Dispose();

    private long Drop(SqliteTransaction transaction, string sql, (string Name, long Value) parameter)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        var dropped = (long)command.ExecuteNonQuery();
        if (dropped > 0)
        {
            using var count = _connection.CreateCommand();
            count.Transaction = transaction;
            count.CommandText = "UPDATE counters SET value = value + $n WHERE name = 'dropped'";
            count.Parameters.AddWithValue("$n", dropped);
            count.ExecuteNonQuery();
        }

        return dropped;
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private long Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
