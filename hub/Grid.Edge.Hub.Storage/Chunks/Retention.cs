using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// Retention and the disk budget: whole chunks (and rollups) past the age their series' rule keeps, then the oldest
/// buckets of every series while the chunk store is over its budget. Runs inside a checkpoint's transaction, at most
/// hourly unless a budget is set; memory forgets what was dropped only once that transaction has committed.
/// </summary>
internal sealed class Retention(SeriesTable table, ChunkStoreOptions options, ILogger logger)
{
    private DateTimeOffset _lastRun = DateTimeOffset.MinValue;
    private long _droppedChunks;
    private long _droppedPoints;

    public long DroppedChunks => Interlocked.Read(ref _droppedChunks);

    public long DroppedPoints => Interlocked.Read(ref _droppedPoints);

    public bool IsDue => options.Time.GetUtcNow() - _lastRun >= TimeSpan.FromHours(1) || options.DiskBudgetBytes is not null;

    /// <summary>Deletes what is due in <paramref name="sql"/>'s transaction; what memory is to forget goes to <paramref name="afterCommit"/>.</summary>
    public void Apply(ChunkRepository chunks, SqlStatements sql, List<Action> afterCommit)
    {
        var ran = options.Time.GetUtcNow();
        var now = ran.ToUnixTimeMilliseconds();
        var bucketMs = table.BucketMs;
        afterCommit.Add(() => _lastRun = ran);
        var drops = new Dictionary<SeriesState, Drop>();
        foreach (var state in table.Series.Values)
        {
            var rule = options.Retention.FirstOrDefault(r => r.Matches(state.Info.Key.Id)) ?? RetentionRule.Default;
            if (rule.Raw is { } raw)
            {
                var cut = now - (long)raw.TotalMilliseconds;
                DropChunks(chunks, sql, state, "bucket + $size <= $cut", cut, start => start + bucketMs <= cut, drops);
            }

            if (rule.Minute is { } minute)
                chunks.DeleteMinuteRollups(sql, state.Id, now - (long)minute.TotalMilliseconds);
            if (rule.Hour is { } hour)
                ChunkRepository.DeleteHourRollups(sql, state.Id, now - (long)hour.TotalMilliseconds);

            // A bucket is gone once every tier of it is; the tier kept longest decides.
            if (rule.Raw is not null && rule.Minute is not null && rule.Hour is not null)
                chunks.ForgetEmptyBuckets(sql, state.Id, now - (long)new[] { rule.Raw.Value, rule.Minute.Value, rule.Hour.Value }.Max().TotalMilliseconds);
        }

        if (options.DiskBudgetBytes is { } budget)
        {
            for (var round = 0; round < 1000 && ChunkRepository.UsedBytes(sql) > budget; round++)
            {
                if (ChunkRepository.OldestBucket(sql) is not { } bucket)
                    break;
                foreach (var state in table.Series.Values)
                {
                    DropChunks(chunks, sql, state, "bucket <= $cut", bucket, start => start <= bucket, drops);
                    chunks.ForgetEmptyBuckets(sql, state.Id, bucket + table.BucketMs);
                }
            }
        }

        foreach (var (state, drop) in drops)
        {
            afterCommit.Add(() =>
            {
                Interlocked.Add(ref _droppedChunks, drop.Chunks);
                Interlocked.Add(ref _droppedPoints, drop.Points);
                lock (table.Gate)
                {
                    // Buffered copies of dropped buckets go too; a point written into them later starts them afresh.
                    foreach (var start in state.Buckets.Keys.Where(start => drop.Buckets.Any(dropped => dropped(start))).ToList())
                        state.Buckets.Remove(start);
                    state.Dropped(drop.Points, drop.FirstMs);
                }
            });
        }
    }

    /// <summary>Gives freed pages back to the file system after a run; a failure is left to the next run.</summary>
    public void ReturnFreePages(SqliteConnection index)
    {
        try
        {
            ChunkIndex.Execute(index, "PRAGMA incremental_vacuum;");
        }
        catch (SqliteException ex)
        {
            logger.LogWarning(ex, "Returning freed pages of the chunk store failed; the next retention run tries again");
        }
    }

    /// <summary>Deletes a series' chunks matching <paramref name="condition"/>, adding up in <paramref name="drops"/> what memory is to forget once committed.</summary>
    private static void DropChunks(ChunkRepository chunks, SqlStatements sql, SeriesState state, string condition, long cut, Func<long, bool> dropsBucket, Dictionary<SeriesState, Drop> drops)
    {
        var (count, points) = chunks.DeleteChunks(sql, state.Id, condition, cut);
        if (count == 0)
            return;
        var firstMs = ChunkRepository.FirstStoredTime(sql, state.Id);
        var drop = drops.TryGetValue(state, out var earlier) ? earlier : new Drop(0, 0, null, []);
        drop.Buckets.Add(dropsBucket);
        drop = drop with { Chunks = drop.Chunks + count, Points = drop.Points + points, FirstMs = firstMs };
        drops[state] = drop;
        var info = state.Info;
        ChunkRepository.SaveSeries(sql, state.Id, info with { PointCount = Math.Max(0, info.PointCount - drop.Points), FirstMs = firstMs ?? info.LatestMs });
    }

    /// <summary>What one run dropped of one series: chunks, points, its oldest remaining time, and which buckets.</summary>
    private sealed record Drop(long Chunks, long Points, long? FirstMs, List<Func<long, bool>> Buckets);
}
