using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Changes;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// What replication reads to export: the buckets changed since a cursor (numbered by the checkpoints that wrote
/// them, see <see cref="ChunkRepository.MarkChanged"/>), and one bucket of one tier as stored, raw points with their
/// write stamps. A bucket still being written answers from memory, so an acknowledged point is never missing.
/// </summary>
internal sealed class ChangeReader(SeriesTable table, OriginRegistry origins, Func<CancellationToken, Task<SqliteConnection>> open)
{
    public const int MaxPage = 100_000;

    public async Task<BucketChangePage> ReadChangesAsync(long since, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(since);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        limit = Math.Min(limit, MaxPage);
        var keys = table.Series.Values.ToDictionary(s => s.Id, s => s.Info.Key);
        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT series_id, bucket, change FROM bucket_changes WHERE change > $since ORDER BY change LIMIT $limit";
        command.Parameters.AddWithValue("$since", since);
        command.Parameters.AddWithValue("$limit", limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var changes = new List<BucketChange>();
        var cursor = since;
        var more = false;
        while (await reader.ReadAsync(cancellationToken))
        {
            if (changes.Count == limit)
            {
                more = true;
                break;
            }

            cursor = reader.GetInt64(2);
            if (keys.TryGetValue(reader.GetInt64(0), out var key))
                changes.Add(new BucketChange(key, reader.GetInt64(1), cursor));
        }

        return new BucketChangePage(changes, cursor, more);
    }

    public async Task<StampedBucket?> ReadStampedBucketAsync(SeriesKey series, long bucketStart, CancellationToken cancellationToken)
    {
        CheckBucket(bucketStart);
        if (!table.Series.TryGetValue(series, out var state))
            return null;
        var (times, values, stamps) = FromMemory(state, bucketStart) ?? default;
        await using var connection = await open(cancellationToken);
        if (times is null)
        {
            var parts = new List<byte[]>();
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT data FROM chunks WHERE series_id=$s AND bucket=$b ORDER BY part";
                command.Parameters.AddWithValue("$s", state.Id);
                command.Parameters.AddWithValue("$b", bucketStart);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                    parts.Add((byte[])reader.GetValue(0));
            }

            (times, values, stamps) = parts.Count > 0 ? BucketBuffer.DecodeParts(parts) : ([], [], ChunkStampSet.Local);
        }

        var kept = stamps.Kept.ToDictionary(k => k.Index, k => k.Stamp);
        var written = new WriteStamp[times.Length];
        for (var i = 0; i < times.Length; i++)
        {
            var stamp = kept.TryGetValue(i, out var explicitStamp) ? explicitStamp : PointStamp.FirstWrite(times[i], stamps.UsualOrigin);
            written[i] = new WriteStamp(stamp.Hlc, origins.NameOf(stamp.Origin));
        }

        return new StampedBucket(series, state.Info.Unit, bucketStart, times, values, written, await ChangeOfAsync(connection, state.Id, bucketStart, cancellationToken));
    }

    /// <summary>The minute or hour summaries of one bucket, oldest first.</summary>
    public async Task<IReadOnlyList<RollupEntry>> ReadRollupsAsync(SeriesKey series, long bucketStart, StoreTier tier, CancellationToken cancellationToken)
    {
        CheckBucket(bucketStart);
        if (tier is not (StoreTier.Minute or StoreTier.Hour))
            throw new ArgumentOutOfRangeException(nameof(tier), tier, "rollups are kept per minute and per hour; read raw points with their stamps instead");
        if (!table.Series.TryGetValue(series, out var state))
            return [];
        var size = tier == StoreTier.Minute ? TimeBuckets.MinuteMs : TimeBuckets.HourMs;

        // A bucket with changes not yet written has stored rollups older than its points.
        if (FromMemory(state, bucketStart, dirtyOnly: true) is { } memory)
            return Rollups.Of(memory.Times, memory.Values, size);

        await using var connection = await open(cancellationToken);
        await using var command = connection.CreateCommand();
        var entries = new List<RollupEntry>();
        if (tier == StoreTier.Minute)
        {
            command.CommandText = "SELECT data FROM minute_rollups WHERE series_id=$s AND bucket=$b";
            command.Parameters.AddWithValue("$s", state.Id);
            command.Parameters.AddWithValue("$b", bucketStart);
            if (await command.ExecuteScalarAsync(cancellationToken) is byte[] packed)
                entries.AddRange(RollupCodec.Decode(packed));
            return entries;
        }

        command.CommandText = "SELECT bucket, count, sum, min, max, first, last FROM rollups WHERE series_id=$s AND tier=$tier AND bucket>=$from AND bucket<$to ORDER BY bucket";
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$tier", ChunkIndex.HourTier);
        command.Parameters.AddWithValue("$from", bucketStart);
        command.Parameters.AddWithValue("$to", bucketStart + table.BucketMs);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            entries.Add(new RollupEntry(reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetDouble(6)));
        return entries;
    }

    private static async Task<long> ChangeOfAsync(SqliteConnection connection, long seriesId, long bucketStart, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT change FROM bucket_changes WHERE series_id=$s AND bucket=$b";
        command.Parameters.AddWithValue("$s", seriesId);
        command.Parameters.AddWithValue("$b", bucketStart);
        return await command.ExecuteScalarAsync(cancellationToken) as long? ?? 0;
    }

    private void CheckBucket(long bucketStart)
    {
        if (table.BucketOf(bucketStart) != bucketStart)
            throw new ArgumentException($"{bucketStart} is not the start of a bucket (buckets are {table.BucketMs} ms long and start at multiples of it)", nameof(bucketStart));
    }

    private (long[] Times, double[] Values, ChunkStampSet Stamps)? FromMemory(SeriesState state, long bucketStart, bool dirtyOnly = false)
    {
        lock (table.Gate)
        {
            return state.Buckets.TryGetValue(bucketStart, out var buffer) && (buffer.Dirty || !dirtyOnly) ? buffer.Snapshot() : null;
        }
    }
}
