using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The chunk store's tables as the writer sees them (see <see cref="ChunkIndex"/> for the schema): the series
/// catalogue, each bucket's chunk parts and its minute and hour rollups. Everything here runs on the writer's
/// connection, in the transaction of the statements it is given.
/// </summary>
internal sealed class ChunkRepository(SqliteConnection index, StoreFiles files, long bucketMs, int maxChunkPoints)
{
    // The last change number given; numbers of a transaction that rolls back are skipped, never given twice.
    private long _lastChange = LastChangeOf(index);

    public SqliteConnection Index => index;

    /// <summary>How many parts a bucket of <paramref name="points"/> needs at least.</summary>
    public int PartsFor(int points) => Math.Max(1, (points + maxChunkPoints - 1) / maxChunkPoints);

    /// <summary>Commits a checkpoint's transaction, through the seam where tests make SQLite fail.</summary>
    public void Commit(SqliteTransaction transaction)
    {
        files.IndexCommitting();
        transaction.Commit();
        files.IndexCommitted();
    }

    public void LoadCatalogue(SeriesTable table)
    {
        using var command = index.CreateCommand();
        command.CommandText = "SELECT id, device, metric, unit, point_count, first_t, last_t, last_v FROM series";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var key = new SeriesKey(reader.GetString(1), reader.GetString(2));
            table.Load(new SeriesState(reader.GetInt64(0), new SeriesInfo(key, reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetDouble(7))) { Catalogued = true });
        }
    }

    /// <summary>A bucket as stored, to take more points.</summary>
    public BucketBuffer LoadBucket(SeriesState state, long start)
    {
        var buffer = new BucketBuffer(start);
        buffer.LoadSealed(ReadParts(state.Id, start));
        return buffer;
    }

    /// <summary>A bucket's stored chunk parts, oldest first.</summary>
    public List<byte[]> ReadParts(long seriesId, long start)
    {
        using var command = index.CreateCommand();
        command.CommandText = "SELECT data FROM chunks WHERE series_id=$s AND bucket=$b ORDER BY part";
        command.Parameters.AddWithValue("$s", seriesId);
        command.Parameters.AddWithValue("$b", start);
        var parts = new List<byte[]>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            parts.Add((byte[])reader.GetValue(0));
        return parts;
    }

    /// <summary>A series a durable group created, saved with no points (the log holds them); one already there stays as it is.</summary>
    public static void InsertNewSeries(SqlStatements sql, SeriesState state)
    {
        var info = state.Info;
        sql.Execute(
            "INSERT INTO series(id, device, metric, unit, point_count, first_t, last_t, last_v) VALUES($id, $d, $m, $u, 0, $f, $l, $v) ON CONFLICT DO NOTHING",
            ("$id", state.Id), ("$d", info.Key.Device), ("$m", info.Key.Metric), ("$u", info.Unit), ("$f", info.FirstMs), ("$l", info.LatestMs), ("$v", info.LatestValue));
    }

    public static void SaveSeries(SqlStatements sql, long id, SeriesInfo info)
    {
        sql.Execute(
            """
            INSERT INTO series(id, device, metric, unit, point_count, first_t, last_t, last_v) VALUES($id, $d, $m, $u, $c, $f, $l, $v)
            ON CONFLICT(id) DO UPDATE SET point_count=excluded.point_count, first_t=excluded.first_t, last_t=excluded.last_t, last_v=excluded.last_v
            """,
            ("$id", id), ("$d", info.Key.Device), ("$m", info.Key.Metric), ("$u", info.Unit), ("$c", info.PointCount), ("$f", info.FirstMs), ("$l", info.LatestMs), ("$v", info.LatestValue));
    }

    /// <summary>Writes one bucket whole (its chunk parts and rollups); returns the parts, oldest first.</summary>
    public List<byte[]> SaveBucket(SqlStatements sql, long seriesId, long bucket, long[] times, double[] values, ChunkStampSet stamps, ref long chunkBytes)
    {
        sql.Execute("DELETE FROM chunks WHERE series_id=$s AND bucket=$b", ("$s", seriesId), ("$b", bucket));
        var data = new List<byte[]>();
        InsertParts(sql, seriesId, bucket, times, values, stamps, data, ref chunkBytes);
        SaveRollups(sql, seriesId, bucket, Rollups.Of(times, values, TimeBuckets.MinuteMs), Rollups.Of(times, values, TimeBuckets.HourMs), ref chunkBytes);
        return data;
    }

    /// <summary>
    /// Writes the points a bucket took after its stored parts as new parts, leaving the stored ones as they are: a
    /// bucket filling up over an hour is written once, not again at every checkpoint. Its rollups are the stored
    /// ones merged with those of the new points. Returns all parts, oldest first.
    /// </summary>
    public List<byte[]> AppendBucket(SqlStatements sql, long seriesId, BucketBuffer buffer, ref long chunkBytes)
    {
        var (times, values, stamps) = buffer.OpenSnapshot();
        var data = new List<byte[]>(buffer.SealedData);

        // Parts numbered past those this buffer knows of come from a commit that reported failure but happened.
        sql.Execute("DELETE FROM chunks WHERE series_id=$s AND bucket=$b AND part>=$p", ("$s", seriesId), ("$b", buffer.Start), ("$p", data.Count));
        InsertParts(sql, seriesId, buffer.Start, times, values, stamps, data, ref chunkBytes);
        List<RollupEntry> stored = sql.Scalar("SELECT data FROM minute_rollups WHERE series_id=$s AND bucket=$b", ("$s", seriesId), ("$b", buffer.Start)) is byte[] packed
            ? [.. RollupCodec.Decode(packed)]
            : [];
        var minutes = Rollups.Merge(stored, Rollups.Of(times, values, TimeBuckets.MinuteMs), TimeBuckets.MinuteMs);
        SaveRollups(sql, seriesId, buffer.Start, minutes, Rollups.Merge([], minutes, TimeBuckets.HourMs), ref chunkBytes);
        return data;
    }

    /// <summary>Gives a bucket whose points changed the next change number (see <see cref="ChangeReader"/>).</summary>
    public void MarkChanged(SqlStatements sql, long seriesId, long bucket) =>
        sql.Execute(
            "INSERT INTO bucket_changes(series_id, bucket, change) VALUES($s, $b, $c) ON CONFLICT(series_id, bucket) DO UPDATE SET change=excluded.change",
            ("$s", seriesId), ("$b", bucket), ("$c", ++_lastChange));

    /// <summary>
    /// Forgets the change numbers of a series' buckets that ended at or before <paramref name="cut"/> and hold nothing
    /// any more in any tier (retention dropped their chunks and rollups): a bucket dropped is not a change to pass on.
    /// </summary>
    public void ForgetEmptyBuckets(SqlStatements sql, long seriesId, long cut) =>
        sql.Execute(
            """
            DELETE FROM bucket_changes WHERE series_id=$s AND bucket + $size <= $cut
                AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.series_id=$s AND c.bucket=bucket_changes.bucket)
                AND NOT EXISTS (SELECT 1 FROM minute_rollups m WHERE m.series_id=$s AND m.bucket=bucket_changes.bucket)
                AND NOT EXISTS (SELECT 1 FROM rollups r WHERE r.series_id=$s AND r.tier=$tier AND r.bucket>=bucket_changes.bucket AND r.bucket<bucket_changes.bucket + $size)
            """,
            ("$s", seriesId), ("$size", bucketMs), ("$cut", cut), ("$tier", ChunkIndex.HourTier));

    /// <summary>Deletes a series' chunks matching <paramref name="condition"/> (over <c>bucket</c>, <c>$size</c> and <c>$cut</c>); returns how many chunks and points went.</summary>
    public (long Chunks, long Points) DeleteChunks(SqlStatements sql, long seriesId, string condition, long cut)
    {
        long chunks, points;
        using (var reader = sql.Reader(
            $"SELECT COUNT(*), COALESCE(SUM(count), 0) FROM chunks WHERE series_id=$s AND {condition}",
            ("$s", seriesId), ("$size", bucketMs), ("$cut", cut)))
        {
            reader.Read();
            chunks = reader.GetInt64(0);
            points = reader.GetInt64(1);
        }

        if (chunks > 0)
            sql.Execute($"DELETE FROM chunks WHERE series_id=$s AND {condition}", ("$s", seriesId), ("$size", bucketMs), ("$cut", cut));
        return (chunks, points);
    }

    /// <summary>The time of a series' oldest stored point, or null when it has no chunk.</summary>
    public static long? FirstStoredTime(SqlStatements sql, long seriesId) =>
        sql.Scalar("SELECT MIN(min_t) FROM chunks WHERE series_id=$s", ("$s", seriesId)) as long?;

    /// <summary>The start of the oldest bucket of any series, or null when nothing is stored.</summary>
    public static long? OldestBucket(SqlStatements sql) => sql.Scalar("SELECT MIN(bucket) FROM chunks") as long?;

    /// <summary>Forgets the minute rollups of a series' buckets that ended at or before <paramref name="cut"/>.</summary>
    public void DeleteMinuteRollups(SqlStatements sql, long seriesId, long cut) =>
        sql.Execute("DELETE FROM minute_rollups WHERE series_id=$s AND bucket + $size <= $cut", ("$s", seriesId), ("$size", bucketMs), ("$cut", cut));

    /// <summary>Forgets the hour rollups of a series before <paramref name="cut"/>.</summary>
    public static void DeleteHourRollups(SqlStatements sql, long seriesId, long cut) =>
        sql.Execute("DELETE FROM rollups WHERE series_id=$s AND tier=$tier AND bucket < $cut", ("$s", seriesId), ("$tier", ChunkIndex.HourTier), ("$cut", cut));

    /// <summary>The bytes the chunk store's pages hold (what a disk budget counts), free pages not included.</summary>
    public static long UsedBytes(SqlStatements sql)
    {
        using var reader = sql.Reader("SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())");
        reader.Read();
        return reader.GetInt64(0) * reader.GetInt64(1);
    }

    private static long LastChangeOf(SqliteConnection index)
    {
        using var command = index.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(change), 0) FROM bucket_changes";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Inserts points as parts of at most <c>maxChunkPoints</c>, numbered after those in <paramref name="parts"/>.</summary>
    private void InsertParts(SqlStatements sql, long seriesId, long bucket, long[] times, double[] values, ChunkStampSet stamps, List<byte[]> parts, ref long chunkBytes)
    {
        var perPart = maxChunkPoints;
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

    private void SaveRollups(SqlStatements sql, long seriesId, long bucket, List<RollupEntry> minutes, List<RollupEntry> hours, ref long chunkBytes)
    {
        var packed = RollupCodec.Encode(minutes);
        chunkBytes += packed.Length;
        sql.Execute("INSERT OR REPLACE INTO minute_rollups(series_id, bucket, minutes, data) VALUES($s, $b, $m, $data)", ("$s", seriesId), ("$b", bucket), ("$m", minutes.Count), ("$data", packed));
        sql.Execute(
            "DELETE FROM rollups WHERE series_id=$s AND tier=$tier AND bucket>=$from AND bucket<$to",
            ("$s", seriesId), ("$tier", ChunkIndex.HourTier), ("$from", bucket), ("$to", bucket + bucketMs));
        foreach (var hour in hours)
        {
            sql.Execute(
                "INSERT INTO rollups(series_id, tier, bucket, count, sum, min, max, first, last) VALUES($s, $tier, $b, $c, $sum, $min, $max, $first, $last)",
                ("$s", seriesId), ("$tier", ChunkIndex.HourTier), ("$b", hour.Start), ("$c", hour.Count), ("$sum", hour.Sum), ("$min", hour.Min), ("$max", hour.Max), ("$first", hour.First), ("$last", hour.Last));
        }
    }
}
