using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The chunk store: one SQLite file (WAL mode, synchronous=FULL) holding the series catalogue, compressed raw
/// chunks (one row per series and bucket), the 1-minute rollups of a bucket packed into one compressed row, and the
/// 1-hour rollups as plain rows. SQLite is trusted, crash-safe and one file; the compression keeps it small.
/// </summary>
internal static class ChunkIndex
{
    public const int SchemaVersion = 6;
    public const int MinuteTier = 1;
    public const int HourTier = 2;

    public static SqliteConnection Open(string path, long bucketMs)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();

            // Chunks are rewritten as they grow and dropped by retention: freed pages go back to the file system
            // (incremental vacuum at checkpoints) instead of leaving the file at its high-water mark. The page stays
            // 4 KiB: 2 KiB pages were measured to push the typical chunk (an hour of a 1-decimal sensor, 2-3 KB)
            // into an overflow page of its own, and to save nothing on noisy data.
            Execute(connection, "PRAGMA auto_vacuum=INCREMENTAL;");
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;");
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS series(
                    id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
                    point_count INTEGER NOT NULL, first_t INTEGER NOT NULL, last_t INTEGER NOT NULL, last_v REAL NOT NULL,
                    UNIQUE(device, metric));
                -- Rowid tables on purpose: they keep rows up to ~4 KB inside their pages, where a WITHOUT ROWID
                -- table moves anything over ~1 KB to an overflow page of its own (most of it empty).
                -- A bucket's points are split into parts of a bounded number of points (a fast series does not
                -- make one huge chunk); part 0 holds the oldest.
                CREATE TABLE IF NOT EXISTS chunks(
                    series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, part INTEGER NOT NULL, count INTEGER NOT NULL,
                    min_t INTEGER NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL,
                    UNIQUE(series_id, bucket, part));
                CREATE TABLE IF NOT EXISTS minute_rollups(
                    series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, minutes INTEGER NOT NULL, data BLOB NOT NULL,
                    UNIQUE(series_id, bucket));
                CREATE TABLE IF NOT EXISTS rollups(
                    series_id INTEGER NOT NULL, tier INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
                    sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, first REAL NOT NULL, last REAL NOT NULL,
                    PRIMARY KEY(series_id, tier, bucket)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS origins(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
                -- Each bucket's last change: a number that only grows, given when a checkpoint writes the bucket, so
                -- that "what changed since" is one range read (replication's export cursor).
                CREATE TABLE IF NOT EXISTS bucket_changes(
                    series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, change INTEGER NOT NULL,
                    PRIMARY KEY(series_id, bucket)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS bucket_changes_by_change ON bucket_changes(change);
                """);

            // Version 4 only added the origins table (created above) and stamps in new chunks; version 3 chunks read as
            // first writes of origin 0. Version 5 numbers the parts of a bucket: earlier chunks become part 0.
            Execute(connection, "UPDATE meta SET value='4' WHERE key='schema_version' AND value='3';");
            if (ReadMeta(connection, "schema_version") == "4")
            {
                Execute(connection, """
                    BEGIN IMMEDIATE;
                    CREATE TABLE chunks_parts(
                        series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, part INTEGER NOT NULL, count INTEGER NOT NULL,
                        min_t INTEGER NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL,
                        UNIQUE(series_id, bucket, part));
                    INSERT INTO chunks_parts SELECT series_id, bucket, 0, count, min_t, max_t, data FROM chunks;
                    DROP TABLE chunks;
                    ALTER TABLE chunks_parts RENAME TO chunks;
                    UPDATE meta SET value='5' WHERE key='schema_version';
                    COMMIT;
                    """);
            }

            // Version 6 numbers each bucket's last change: the buckets stored before count as changed, oldest first.
            if (ReadMeta(connection, "schema_version") == "5")
            {
                Execute(connection, """
                    BEGIN IMMEDIATE;
                    INSERT OR IGNORE INTO bucket_changes(series_id, bucket, change)
                        SELECT series_id, bucket, ROW_NUMBER() OVER (ORDER BY bucket, series_id)
                        FROM (SELECT DISTINCT series_id, bucket FROM chunks UNION SELECT series_id, bucket FROM minute_rollups);
                    UPDATE meta SET value='6' WHERE key='schema_version';
                    COMMIT;
                    """);
            }

            CheckMeta(connection, "schema_version", SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), path);
            CheckMeta(connection, "bucket_ms", bucketMs.ToString(System.Globalization.CultureInfo.InvariantCulture), path);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static string? ReadMeta(SqliteConnection connection, string key)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT value FROM meta WHERE key=$k";
        read.Parameters.AddWithValue("$k", key);
        return read.ExecuteScalar() as string;
    }

    private static void CheckMeta(SqliteConnection connection, string key, string expected, string path)
    {
        var value = ReadMeta(connection, key);
        if (value is null)
        {
            using var write = connection.CreateCommand();
            write.CommandText = "INSERT INTO meta(key, value) VALUES($k, $v)";
            write.Parameters.AddWithValue("$k", key);
            write.Parameters.AddWithValue("$v", expected);
            write.ExecuteNonQuery();
        }
        else if (value != expected)
        {
            throw new InvalidOperationException($"{path} was written with {key} {value}; this hub uses {expected}.");
        }
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
