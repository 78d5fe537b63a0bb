using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The store's reads: points of a range (as records or columns), aggregates from the coarsest rollups that fit, and
/// what each series occupies. Each read has its own read-only connection, so reads never wait for the writer; buckets
/// still in memory answer from their buffers, copied under the lock.
/// </summary>
internal sealed class StoreReader(SeriesTable table, string readConnectionString, Func<bool> open)
{
    public async ValueTask<IReadOnlyList<DataPoint>> ReadRangeAsync(SeriesKey series, long fromMs, long toMs, int limit, bool newestFirst, CancellationToken cancellationToken)
    {
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        if (!table.Series.TryGetValue(series, out var state) || fromMs >= toMs || limit <= 0)
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

    public async ValueTask<PointColumns> ReadColumnsAsync(SeriesKey series, long fromMs, long toMs, int limit, CancellationToken cancellationToken)
    {
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        if (!table.Series.TryGetValue(series, out var state) || fromMs >= toMs || limit <= 0)
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

    public async ValueTask<IReadOnlyDictionary<SeriesKey, IReadOnlyList<AggregatePoint>>> ReadAggregatedAsync(IReadOnlyList<SeriesKey> series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepMs);

        // Clamped, bucket starts and tier bounds stay far from overflow for any step (a query may name any long).
        (fromMs, toMs) = (StoreTime.Clamp(fromMs), StoreTime.Clamp(toMs));
        var result = new Dictionary<SeriesKey, IReadOnlyList<AggregatePoint>>();
        await using var connection = await OpenAsync(cancellationToken);
        using var sql = new SqlStatements(connection);
        foreach (var key in series)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result[key] = table.Series.TryGetValue(key, out var state) && fromMs < toMs
                ? Aggregate(sql, state, fromMs, toMs, stepMs)
                : [];
        }

        return result;
    }

    /// <summary>Per series and tier: points and bytes in the chunk store (for the storage API).</summary>
    public async Task<IReadOnlyList<SeriesStorage>> DescribeAsync(CancellationToken cancellationToken)
    {
        var ids = table.Series.Values.ToDictionary(s => s.Id, s => s.Info.Key);
        var result = new Dictionary<long, SeriesStorage>();
        await using var connection = await OpenAsync(cancellationToken);
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

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // Reads stay possible while a closing store writes its last checkpoint; after that the files are closed.
        ObjectDisposedException.ThrowIf(!open(), typeof(ChunkedTimeSeriesStore));
        var connection = new SqliteConnection(readConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>The index of the first time at or after <paramref name="t"/>.</summary>
    private static int LowerBound(long[] times, long t)
    {
        var index = Array.BinarySearch(times, t);
        return index >= 0 ? index : ~index;
    }

    /// <summary>
    /// Aggregates of one series: the coarsest rollup tier whose buckets fit the step answers for the whole tier
    /// buckets inside the range (stored rollups for written buckets, the in-memory minutes of buckets still being
    /// written); the ragged ends and steps that fit no tier come from raw points.
    /// </summary>
    private List<AggregatePoint> Aggregate(SqlStatements sql, SeriesState state, long fromMs, long toMs, long stepMs)
    {
        var output = new Dictionary<long, Accumulator>();
        ref Accumulator At(long t) =>
            ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(output, TimeBuckets.StartOf(t, stepMs), out _);
        void Add(long t, Accumulator part) => At(t).Add(part.Count, part.Sum, part.Min, part.Max);
        void AddPoint(long t, double v) => At(t).Add(v);

        var bucketMs = table.BucketMs;
        var tierSize = stepMs % TimeBuckets.HourMs == 0 ? TimeBuckets.HourMs : stepMs % TimeBuckets.MinuteMs == 0 ? TimeBuckets.MinuteMs : 0;
        long inner = 0, innerEnd = 0;
        if (tierSize > 0)
        {
            inner = TimeBuckets.FirstStartAtOrAfter(fromMs, tierSize);
            innerEnd = TimeBuckets.StartOf(toMs, tierSize);
        }

        var tiered = tierSize > 0 && inner < innerEnd;
        var dirty = new HashSet<long>();
        if (tiered)
        {
            // Buckets with unwritten changes answer from their in-memory minutes; their stored rollups are older.
            lock (table.Gate)
            {
                foreach (var (start, buffer) in state.Buckets)
                {
                    if (buffer.Dirty && start + bucketMs > inner && start < innerEnd)
                    {
                        dirty.Add(start);
                        buffer.AddMinutes(Math.Max(start, inner), Math.Min(start + bucketMs, innerEnd), bucketMs, Add);
                    }
                }
            }

            if (tierSize == TimeBuckets.MinuteMs)
            {
                using var reader = sql.Reader(
                    "SELECT bucket, data FROM minute_rollups WHERE series_id=$s AND bucket>=$from AND bucket<$to",
                    ("$s", state.Id), ("$from", table.BucketOf(inner)), ("$to", innerEnd));
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
                    if (dirty.Contains(table.BucketOf(hour)))
                        continue;
                    Add(hour, new Accumulator { Count = reader.GetInt64(1), Sum = reader.GetDouble(2), Min = reader.GetDouble(3), Max = reader.GetDouble(4) });
                }
            }
        }

        foreach (var (rawFrom, rawTo) in tiered ? [(fromMs, inner), (innerEnd, toMs)] : new[] { (fromMs, toMs) })
        {
            if (rawFrom < rawTo)
                AddRawPoints(sql, state, rawFrom, rawTo, AddPoint);
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
    private void AddRawPoints(SqlStatements sql, SeriesState state, long fromMs, long toMs, Action<long, double> add)
    {
        var inMemory = new HashSet<long>();
        lock (table.Gate)
        {
            foreach (var (start, buffer) in state.Buckets)
            {
                if (start + table.BucketMs > fromMs && start < toMs)
                {
                    inMemory.Add(start);
                    buffer.ForEachPoint(fromMs, toMs, add);
                }
            }
        }

        using var reader = sql.Reader(
            "SELECT bucket, data FROM chunks WHERE series_id=$s AND bucket>=$from AND bucket<$to",
            ("$s", state.Id), ("$from", table.BucketOf(fromMs)), ("$to", toMs));
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

    /// <summary>Copies of the bucket buffers of a series that overlap [from, to), keyed by bucket start.</summary>
    private Dictionary<long, (long[] Times, double[] Values)> BufferedBuckets(SeriesState state, long fromMs, long toMs)
    {
        var copies = new Dictionary<long, (long[], double[])>();
        lock (table.Gate)
        {
            foreach (var (start, buffer) in state.Buckets)
            {
                if (start + table.BucketMs > fromMs && start < toMs)
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
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var order = newestFirst ? "DESC" : "ASC";
        command.CommandText = $"SELECT bucket, data FROM chunks WHERE series_id=$s AND bucket>=$from AND bucket<$to ORDER BY bucket {order}, part {order}";
        command.Parameters.AddWithValue("$s", state.Id);
        command.Parameters.AddWithValue("$from", table.BucketOf(fromMs));
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
}

/// <summary>What one series occupies in the chunk store.</summary>
public sealed record SeriesStorage(SeriesKey Key, long Chunks, long RawPoints, long RawBytes, long MinuteRollups, long HourRollups);
