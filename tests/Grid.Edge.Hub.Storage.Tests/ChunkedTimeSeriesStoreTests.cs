using CsCheck;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Tests;

public sealed class ChunkedTimeSeriesStoreTests : IAsyncLifetime
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z
    private static readonly SeriesKey Temperature = new("ws1", "temperature");
    private static readonly SeriesKey Humidity = new("ws1", "humidity");

    private readonly TempDirectory _dir = new();
    private ChunkedTimeSeriesStore _store = null!;

    public Task InitializeAsync()
    {
        _store = Open();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    private ChunkedTimeSeriesStore Open() => ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = _dir.Path });

    private static Reading R(SeriesKey key, long t, double v, string unit = "degC") => new(key, t, v, unit);

    [Fact]
    public async Task Appended_readings_read_back_in_time_order_within_a_half_open_range()
    {
        var result = await _store.AppendAsync([R(Temperature, T0 + 2000, 3), R(Temperature, T0, 1), R(Temperature, T0 + 1000, 2)]);
        Assert.Equal(3, result.Inserted);
        Assert.Equal(3, result.Stored.Count);

        var all = await _store.ReadRangeAsync(Temperature, T0, T0 + 3000, 100);
        Assert.Equal([new DataPoint(T0, 1), new DataPoint(T0 + 1000, 2), new DataPoint(T0 + 2000, 3)], all);
        Assert.Equal([new DataPoint(T0 + 1000, 2)], await _store.ReadRangeAsync(Temperature, T0 + 1, T0 + 2000, 100));
        Assert.Equal(2, (await _store.ReadRangeAsync(Temperature, T0, T0 + 3000, 2)).Count);
        Assert.Equal([new DataPoint(T0 + 2000, 3), new DataPoint(T0 + 1000, 2)], await _store.ReadRangeAsync(Temperature, T0, T0 + 3000, 2, newestFirst: true));
        Assert.Empty(await _store.ReadRangeAsync(Humidity, T0, T0 + 3000, 100));
    }

    [Fact]
    public async Task The_same_reading_twice_stores_nothing_new_and_a_changed_value_replaces_the_old()
    {
        await _store.AppendAsync([R(Temperature, T0, 1)]);
        var again = await _store.AppendAsync([R(Temperature, T0, 1)]);
        Assert.Equal(1, again.Duplicates);
        Assert.Empty(again.Stored);

        var changed = await _store.AppendAsync([R(Temperature, T0, 1.5)]);
        Assert.Equal(1, changed.Updated);
        Assert.Equal([new DataPoint(T0, 1.5)], await _store.ReadRangeAsync(Temperature, T0, T0 + 1, 10));
        Assert.True(_store.TryGetSeries(Temperature, out var info));
        Assert.Equal(1, info.PointCount);
    }

    [Fact]
    public async Task Latest_is_the_newest_timestamp_not_the_last_arrival()
    {
        await _store.AppendAsync([R(Temperature, T0 + 60_000, 20)]);
        await _store.AppendAsync([R(Temperature, T0, 10)]); // backfill
        Assert.True(_store.TryGetSeries(Temperature, out var info));
        Assert.Equal(T0 + 60_000, info.LatestMs);
        Assert.Equal(20, info.LatestValue);
        Assert.Equal(T0, info.FirstMs);
        Assert.Equal(2, info.PointCount);
    }

    [Fact]
    public async Task A_series_keeps_the_unit_it_was_created_with()
    {
        await _store.AppendAsync([R(new SeriesKey("ws1", "soil"), T0, 1, "degC")]);
        var result = await _store.AppendAsync([R(new SeriesKey("ws1", "soil"), T0 + 1, 2, "degF"), R(new SeriesKey("ws1", "soil"), T0 + 2, 3, "degC")]);
        Assert.Single(result.UnitConflicts);
        Assert.Equal(1, result.Inserted);
        Assert.Equal(2, (await _store.ReadRangeAsync(new SeriesKey("ws1", "soil"), T0, T0 + 10, 10)).Count);
    }

    [Fact]
    public async Task Series_list_carries_unit_count_and_latest()
    {
        await _store.AppendAsync([R(Temperature, T0, 1), R(Humidity, T0, 50, "%"), R(Humidity, T0 + 1000, 51, "%")]);
        var series = _store.ListSeries();
        Assert.Equal(["ws1/humidity", "ws1/temperature"], series.Select(s => s.Key.Id));
        Assert.Equal(new SeriesInfo(Humidity, "%", 2, T0, T0 + 1000, 51), series[0]);
        var stats = _store.GetStatistics();
        Assert.Equal(2, stats.SeriesCount);
        Assert.Equal(3, stats.PointCount);
        Assert.True(stats.BytesOnDisk > 0);
    }

    [Fact]
    public async Task Everything_survives_a_close_and_reopen()
    {
        await _store.AppendAsync([R(Temperature, T0, 1), R(Temperature, T0 + 1000, 2), R(Humidity, T0, 50, "%")]);
        await _store.DisposeAsync();
        _store = Open();
        Assert.Equal([new DataPoint(T0, 1), new DataPoint(T0 + 1000, 2)], await _store.ReadRangeAsync(Temperature, 0, long.MaxValue, 10));
        Assert.True(_store.TryGetSeries(Temperature, out var info));
        Assert.Equal(new SeriesInfo(Temperature, "degC", 2, T0, T0 + 1000, 2), info);
        Assert.Equal(1, (await _store.AppendAsync([R(Temperature, T0, 1)])).Duplicates);
    }

    [Fact]
    public async Task Appends_queued_before_close_are_written()
    {
        var pending = Enumerable.Range(0, 50).Select(i => _store.AppendAsync([R(Temperature, T0 + i, i)]).AsTask()).ToList();
        await _store.DisposeAsync();
        await Task.WhenAll(pending);
        _store = Open();
        Assert.Equal(50, (await _store.ReadRangeAsync(Temperature, 0, long.MaxValue, 100)).Count);
    }

    [Fact]
    public async Task Concurrent_appends_are_all_stored_and_grouped_into_fewer_commits_than_appends()
    {
        var tasks = Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
                await _store.AppendAsync([R(new SeriesKey("w" + writer, "x"), T0 + i, i, string.Empty)]);
        }));
        await Task.WhenAll(tasks);
        var stats = _store.GetStatistics();
        Assert.Equal(1600, stats.PointCount);
        Assert.Equal(1600, stats.ReadingsAppended);
        Assert.True(stats.Commits <= 1600);
    }

    [Fact]
    public async Task A_database_of_another_schema_version_is_refused_with_a_clear_error()
    {
        await _store.DisposeAsync();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "chunks.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE meta SET value='99' WHERE key='schema_version'";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(Open);
        Assert.Contains("schema_version 99", error.Message, StringComparison.Ordinal);
        _store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = Path.Combine(_dir.Path, "other") });
    }

    [Fact]
    public async Task Aggregates_match_a_direct_computation_for_random_data()
    {
        var key = new SeriesKey("agg", "x");
        var gen = Gen.Select(Gen.Long[0, 3_600_000].Array[1, 300], Gen.Double[-100, 100]);
        var round = 0;
        await gen.SampleAsync(
            async (times, value) =>
            {
                var series = key with { Metric = "x" + round++ };
                var points = times.Distinct().Select((t, i) => R(series, T0 + t, Math.Round(value + i * 0.1, 1), string.Empty)).ToList();
                await _store.AppendAsync(points);
                foreach (var step in new long[] { 1000, 60_000, 3_600_000 })
                {
                    var expected = points
                        .GroupBy(p => p.TimestampMs / step * step)
                        .OrderBy(g => g.Key)
                        .Select(g => new AggregatePoint(g.Key, g.Count(), g.Sum(p => p.Value), g.Min(p => p.Value), g.Max(p => p.Value)))
                        .ToList();
                    var actual = await _store.ReadAggregatedAsync(series, T0, T0 + 3_600_001, step);
                    Assert.Equal(expected.Count, actual.Count);
                    for (var i = 0; i < expected.Count; i++)
                    {
                        Assert.Equal(expected[i].BucketStartMs, actual[i].BucketStartMs);
                        Assert.Equal(expected[i].Count, actual[i].Count);
                        Assert.Equal(expected[i].Sum, actual[i].Sum, 6);
                        Assert.Equal(expected[i].Min, actual[i].Min);
                        Assert.Equal(expected[i].Max, actual[i].Max);
                    }
                }
            },
            iter: 40);
    }
}

public sealed class ChunkedStoreEngineTests : IAsyncLifetime
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z, on an hour
    private readonly TempDirectory _dir = new();
    private ChunkedTimeSeriesStore _store = null!;

    public Task InitializeAsync()
    {
        _store = Open();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    private ChunkedTimeSeriesStore Open(Action<ChunkStoreOptionsBuilder>? configure = null)
    {
        var builder = new ChunkStoreOptionsBuilder { DataDirectory = _dir.Path };
        configure?.Invoke(builder);
        return ChunkedTimeSeriesStore.Open(builder.Build());
    }

    private static Reading R(string metric, long t, double v) => new(new SeriesKey("dev", metric), t, v, string.Empty);

    private async Task<List<DataPoint>> AllAsync(string metric) => [.. await _store.ReadRangeAsync(new SeriesKey("dev", metric), 0, long.MaxValue, int.MaxValue)];

    [Fact]
    public async Task Random_writes_late_and_duplicate_round_trip_through_checkpoints_and_reopen()
    {
        var expected = new SortedDictionary<long, double>();
        var shapes = new Func<int, Random, double>[] { (_, _) => 21.5, (i, r) => Math.Round(20 + r.Next(-30, 30) / 10.0, 1), (_, r) => r.NextDouble() * 1e6 };
        await Gen.Select(Gen.Int[0, 2], Gen.Int[1, 300], Gen.Long[0, 6 * 3_600_000].Array[1, 400], Gen.Int[0, int.MaxValue]).SampleAsync(
            async (shape, batches, offsets, seed) =>
            {
                var random = new Random(seed);
                var metric = "m" + shape;
                foreach (var chunk in offsets.Chunk(Math.Max(1, offsets.Length / Math.Min(batches, offsets.Length))))
                {
                    var readings = chunk.Select((o, i) => R(metric, T0 + o, shapes[shape](i, random))).ToList();
                    await _store.AppendAsync(readings);
                    foreach (var reading in readings)
                    {
                        if (reading.Series.Metric == metric)
                            expected[reading.TimestampMs] = reading.Value;
                    }

                    if (random.Next(3) == 0)
                        await _store.CheckpointAsync();
                }

                var stored = await AllAsync(metric);
                Assert.Equal(expected.Select(kv => new DataPoint(kv.Key, kv.Value)), stored);
                Assert.True(_store.TryGetSeries(new SeriesKey("dev", metric), out var info));
                Assert.Equal(expected.Count, info.PointCount);
                expected.Clear();
                await _store.DisposeAsync();
                Directory.Delete(_dir.Path, recursive: true);
                _store = Open();
            },
            iter: 25,
            threads: 1);
    }

    [Fact]
    public async Task Rollup_answers_equal_aggregates_of_raw_points_before_and_after_late_data()
    {
        var random = new Random(3);
        var points = Enumerable.Range(0, 3 * 3600).Where(_ => random.Next(5) > 0).Select(i => R("x", T0 + i * 1000L, Math.Round(random.NextDouble() * 100, 1))).ToList();
        await _store.AppendAsync(points);
        await _store.CheckpointAsync();
        await AssertAggregatesMatchRawAsync();

        // Late data into stored chunks: their rollups are recomputed.
        await _store.AppendAsync([R("x", T0 + 500, 1000), R("x", T0 + 3_600_000 + 500, -1000), R("x", T0 + 2000, 55.5)]);
        await AssertAggregatesMatchRawAsync(); // still buffered
        await _store.CheckpointAsync();
        await AssertAggregatesMatchRawAsync();
    }

    [Fact]
    public async Task Buckets_being_written_answer_aggregates_like_raw_points_through_appends_late_points_and_changes()
    {
        // Queries between writes build the in-memory minutes of unwritten buckets; appends keep them current and
        // late points or changed values make them be rebuilt.
        await Gen.Select(Gen.Int[0, 3].Array[20, 80], Gen.Int[0, int.MaxValue]).SampleAsync(
            async (operations, seed) =>
            {
                var random = new Random(seed);
                var next = T0;
                foreach (var operation in operations)
                {
                    switch (operation)
                    {
                        case 0:
                            var batch = Enumerable.Range(0, random.Next(1, 400)).Select(i => R("x", next += random.Next(1, 20_000), Math.Round(random.NextDouble() * 50, 1))).ToList();
                            await _store.AppendAsync(batch);
                            break;
                        case 1:
                            await _store.AppendAsync([R("x", T0 + (long)(random.NextDouble() * (next - T0 + 1)), Math.Round(random.NextDouble() * 50, 2))]);
                            break;
                        case 2:
                            await AssertAggregatesMatchRawAsync();
                            break;
                        default:
                            if (random.Next(4) == 0)
                                await _store.CheckpointAsync();
                            break;
                    }
                }

                await AssertAggregatesMatchRawAsync();
                await _store.DisposeAsync();
                Directory.Delete(_dir.Path, recursive: true);
                _store = Open();
            },
            iter: 15,
            threads: 1);
    }

    [Fact]
    public async Task A_backfill_is_checkpointed_by_point_count_and_keeps_only_compressed_chunks_in_memory()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir.Path, recursive: true);
        _store = Open(o => o.CheckpointPoints = 2000);
        var random = new Random(9);
        var expected = new List<DataPoint>();
        for (var batch = 0; batch < 14; batch++)
        {
            var readings = Enumerable.Range(batch * 1000, 1000).Select(i => R("x", T0 + i * 1000L, Math.Round(random.NextDouble() * 40, 1))).ToList();
            await _store.AppendAsync(readings);
            expected.AddRange(readings.Select(r => new DataPoint(r.TimestampMs, r.Value)));
            Assert.InRange(_store.GetStatistics().OpenPoints, 0, 2000);
        }

        var stats = _store.GetStatistics();
        Assert.InRange(stats.Checkpoints, 6, 7);
        Assert.Equal(expected, await AllAsync("x"));

        // The backfill's checkpoints appended parts and left joining them for later: the next checkpoint on time
        // (here one asked for, with nothing new to write) writes each bucket in one part, the last one too.
        Assert.True(PartSizes().Count > 4, $"{PartSizes().Count} parts");
        await _store.CheckpointAsync();
        Assert.Equal(4, PartSizes().Count);
        Assert.Equal(expected, await AllAsync("x"));
        await AssertAggregatesMatchRawAsync();

        // A late point into a sealed bucket opens it up; the next checkpoint seals it again.
        await _store.AppendAsync([R("x", T0 + 500, 99)]);
        Assert.True(_store.GetStatistics().OpenPoints >= 3600);
        await _store.CheckpointAsync();
        Assert.Equal(0, _store.GetStatistics().OpenPoints);
        Assert.Equal(expected.Count + 1, (await AllAsync("x")).Count);
    }

    [Fact]
    public async Task Columns_hold_the_same_points_as_a_range_read_for_any_range_and_limit()
    {
        var random = new Random(17);
        var points = Enumerable.Range(0, 4 * 3600).Where(_ => random.Next(4) > 0).Select(i => R("x", T0 + i * 1000L, Math.Round(random.NextDouble() * 100, 1))).ToList();
        await _store.AppendAsync(points[..(points.Count / 2)]);
        await _store.CheckpointAsync();
        await _store.AppendAsync(points[(points.Count / 2)..]); // half in chunks, half still buffered
        var key = new SeriesKey("dev", "x");
        Gen.Select(Gen.Long[-3_600_000, 5 * 3_600_000], Gen.Long[0, 5 * 3_600_000], Gen.Int[1, 20_000]).Sample((from, length, limit) =>
        {
            var range = _store.ReadRangeAsync(key, T0 + from, T0 + from + length, limit).AsTask().GetAwaiter().GetResult();
            var columns = _store.ReadColumnsAsync(key, T0 + from, T0 + from + length, limit).AsTask().GetAwaiter().GetResult();
            Assert.Equal(range.Select(p => p.TimestampMs), columns.Times);
            Assert.Equal(range.Select(p => p.Value), columns.Values);
        }, iter: 200);
        Assert.Equal(0, (await _store.ReadColumnsAsync(new SeriesKey("dev", "absent"), 0, long.MaxValue, 10)).Count);
    }

    [Fact]
    public async Task A_fast_series_is_stored_in_bounded_parts_that_read_back_whole_in_either_order()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir.Path, recursive: true);
        _store = Open(o => o.MaxChunkPoints = 37);
        var key = new SeriesKey("dev", "x");
        var expected = new SortedDictionary<long, double>();
        var random = new Random(23);
        for (var round = 0; round < 6; round++)
        {
            // In order at 10 Hz, plus late points and changed values into parts written before.
            var readings = Enumerable.Range(round * 300, 300).Select(i => R("x", T0 + i * 100L, Math.Round(random.NextDouble() * 50, 1)))
                .Concat(Enumerable.Range(0, 20).Select(_ => R("x", T0 + random.Next(0, (round + 1) * 300) * 100L + random.Next(0, 2) * 50, random.NextDouble())))
                .ToList();
            await _store.AppendAsync(readings);
            foreach (var r in readings)
                expected[r.TimestampMs] = r.Value;
            await _store.CheckpointAsync();
            if (round == 3)
            {
                await _store.DisposeAsync();
                _store = Open(o => o.MaxChunkPoints = 37);
            }
        }

        var all = expected.Select(kv => new DataPoint(kv.Key, kv.Value)).ToList();
        Assert.Equal(all, await AllAsync("x"));
        Assert.Equal(all.AsEnumerable().Reverse().Take(500), await _store.ReadRangeAsync(key, 0, long.MaxValue, 500, newestFirst: true));
        Assert.Equal(all.Select(p => p.TimestampMs).ToArray(), (await _store.ReadColumnsAsync(key, 0, long.MaxValue, int.MaxValue)).Times);
        var described = Assert.Single(await _store.DescribeAsync());
        Assert.Equal(all.Count, described.RawPoints);
        Assert.True(described.Chunks >= all.Count / 37, $"{described.Chunks} parts for {all.Count} points");
        await AssertAggregatesMatchRawAsync();
    }

    [Fact]
    public async Task A_store_of_schema_four_is_upgraded_with_its_chunks_kept_and_listed_as_changed()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir.Path, recursive: true);
        Directory.CreateDirectory(_dir.Path);
        var times = Enumerable.Range(0, 100).Select(i => T0 + i * 1000L).ToArray();
        var values = times.Select((_, i) => i / 10.0).ToArray();
        using (var db = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "chunks.db")};Pooling=False"))
        {
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta VALUES('schema_version', '4'), ('bucket_ms', '3600000');
                CREATE TABLE series(id INTEGER PRIMARY KEY, device TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
                    point_count INTEGER NOT NULL, first_t INTEGER NOT NULL, last_t INTEGER NOT NULL, last_v REAL NOT NULL, UNIQUE(device, metric));
                INSERT INTO series VALUES(1, 'dev', 'x', '', 100, $first, $last, 9.9);
                CREATE TABLE chunks(series_id INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
                    min_t INTEGER NOT NULL, max_t INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(series_id, bucket));
                INSERT INTO chunks VALUES(1, $bucket, 100, $first, $last, $data);
                """;
            command.Parameters.AddWithValue("$first", times[0]);
            command.Parameters.AddWithValue("$last", times[^1]);
            command.Parameters.AddWithValue("$bucket", T0);
            command.Parameters.AddWithValue("$data", Grid.Edge.Hub.Storage.Compression.ChunkCodec.Encode(times, values));
            command.ExecuteNonQuery();
        }

        _store = Open();
        Assert.Equal(times.Zip(values, (t, v) => new DataPoint(t, v)), await AllAsync("x"));

        // Buckets stored before changes were numbered count as changed, for a replica starting from nothing.
        Assert.Equal(T0, Assert.Single((await _store.ReadChangesAsync(0, 10)).Changes).BucketStart);
        await _store.AppendAsync([R("x", T0 + 50_500, 7)]); // a late point rewrites the bucket in the new layout
        await _store.CheckpointAsync();
        Assert.Equal(101, (await AllAsync("x")).Count);
    }

    [Fact]
    public async Task Open_ended_ranges_read_stored_chunks_too()
    {
        await _store.AppendAsync([R("x", T0, 1), R("x", T0 + 1000, 2), R("x", T0 + 2000, 3)]);
        await _store.CheckpointAsync();
        var key = new SeriesKey("dev", "x");
        Assert.Equal(3, (await _store.ReadRangeAsync(key, long.MinValue, long.MaxValue, 10)).Count);
        Assert.Equal([new DataPoint(T0 + 2000, 3), new DataPoint(T0 + 1000, 2)], await _store.ReadRangeAsync(key, long.MinValue, T0 + 3000, 2, newestFirst: true));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Aggregates_over_ranges_at_the_ends_of_time_neither_overflow_nor_answer_for_other_times(bool written)
    {
        await _store.AppendAsync([R("x", T0, 1), R("x", T0 + 1000, 2), R("x", T0 + 3_600_000, 3)]);
        if (written)
            await _store.CheckpointAsync();
        var key = new SeriesKey("dev", "x");

        // Nothing is stored near the ends of a long: whatever the step, nothing is answered there.
        foreach (var step in new[] { 1L, 60_000, 3_600_000, long.MaxValue / 3_600_000 * 3_600_000, long.MaxValue })
        {
            Assert.Empty(await _store.ReadAggregatedAsync(key, long.MaxValue - 10, long.MaxValue, step));
            Assert.Empty(await _store.ReadAggregatedAsync(key, long.MinValue, long.MinValue + 10, step));
        }

        // All of time in steps of any size still counts every point exactly once.
        foreach (var step in new[] { 3_600_000, long.MaxValue / 3_600_000 * 3_600_000, long.MaxValue })
        {
            var buckets = await _store.ReadAggregatedAsync(key, long.MinValue, long.MaxValue, step);
            Assert.Equal(3, buckets.Sum(b => b.Count));
            Assert.Equal(6, buckets.Sum(b => b.Sum));
        }
    }

    [Fact]
    public async Task Many_series_at_once_answer_like_one_at_a_time()
    {
        var random = new Random(5);
        var metrics = Enumerable.Range(0, 20).Select(i => "m" + i).ToList();
        await _store.AppendAsync(metrics.SelectMany(m => Enumerable.Range(0, 500).Select(i => R(m, T0 + i * 7000L, random.Next(100)))).ToList());
        await _store.CheckpointAsync();
        await _store.AppendAsync([R("m3", T0 + 123, 999)]); // one unwritten change
        var keys = metrics.Select(m => new SeriesKey("dev", m)).Append(new SeriesKey("dev", "absent")).ToList();
        var many = await _store.ReadAggregatedAsync(keys, T0 + 30_000, T0 + 3_000_000, 60_000);
        foreach (var key in keys)
            Assert.Equal(await _store.ReadAggregatedAsync(key, T0 + 30_000, T0 + 3_000_000, 60_000), many[key]);
    }

    private async Task AssertAggregatesMatchRawAsync()
    {
        var raw = await AllAsync("x");
        foreach (var (from, to, step) in new[] { (T0, T0 + 3 * 3_600_000L, 3_600_000L), (T0 + 90_000, T0 + 7_000_000, 60_000L), (T0 - 5000, T0 + 10_000_000, 600_000L), (T0 + 1234, T0 + 9_999_999, 7_000L) })
        {
            var expected = raw.Where(p => p.TimestampMs >= from && p.TimestampMs < to).GroupBy(p => p.TimestampMs / step * step).OrderBy(g => g.Key)
                .Select(g => new AggregatePoint(g.Key, g.Count(), g.Sum(p => p.Value), g.Min(p => p.Value), g.Max(p => p.Value))).ToList();
            var actual = await _store.ReadAggregatedAsync(new SeriesKey("dev", "x"), from, to, step);
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].BucketStartMs, actual[i].BucketStartMs);
                Assert.Equal(expected[i].Count, actual[i].Count);
                Assert.Equal(expected[i].Sum, actual[i].Sum, 6);
                Assert.Equal(expected[i].Min, actual[i].Min);
                Assert.Equal(expected[i].Max, actual[i].Max);
            }
        }
    }

    [Fact]
    public async Task A_torn_log_tail_loses_only_the_unfinished_record()
    {
        await _store.AppendAsync([R("x", T0, 1), R("x", T0 + 1000, 2)]);
        await _store.AppendAsync([R("x", T0 + 2000, 3)]);

        // Simulate a crash: copy the files while the store is open (nothing checkpointed yet), then cut the log.
        var crash = Path.Combine(_dir.Path, "crash");
        Directory.CreateDirectory(crash);
        foreach (var file in Directory.GetFiles(_dir.Path))
            File.Copy(file, Path.Combine(crash, Path.GetFileName(file)));
        var log = Path.Combine(crash, "chunks.wal");
        var length = new FileInfo(log).Length;
        using (var stream = new FileStream(log, FileMode.Open))
            stream.SetLength(length - 3);

        await using var recovered = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = crash });
        Assert.Equal([new DataPoint(T0, 1), new DataPoint(T0 + 1000, 2)], await recovered.ReadRangeAsync(new SeriesKey("dev", "x"), 0, long.MaxValue, 100));
        Assert.Equal(0, new FileInfo(log).Length); // replayed into chunks, log emptied
    }

    /// <summary>Sizes of the stored chunk parts (of one bucket), in order.</summary>
    private List<long> PartSizes(long? bucket = null)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "chunks.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT length(data) FROM chunks {(bucket is null ? "" : $"WHERE bucket={bucket}")} ORDER BY series_id, bucket, part";
        using var reader = command.ExecuteReader();
        var sizes = new List<long>();
        while (reader.Read())
            sizes.Add(reader.GetInt64(0));
        return sizes;
    }

    /// <summary>Checkpoints by point count follow a commit on the store's writer: waits (bounded) until there are this many.</summary>
    private async Task CheckpointsReachedAsync(long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_store.GetStatistics().Checkpoints < count && DateTime.UtcNow < deadline)
            await Task.Delay(5);
        Assert.Equal(count, _store.GetStatistics().Checkpoints);
    }

    [Fact]
    public async Task A_bucket_appended_by_a_backfill_and_written_since_is_joined_by_the_next_checkpoint_asked_for()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir.Path, recursive: true);
        _store = Open(o => o.CheckpointPoints = 1000);
        for (var batch = 0; batch < 3; batch++)
        {
            await _store.AppendAsync(Enumerable.Range(batch * 1000, 1000).Select(i => R("x", T0 + i * 1000L, i % 7)).ToList());
            await CheckpointsReachedAsync(batch + 1);
        }

        Assert.Equal(3, PartSizes().Count);
        await _store.CheckpointAsync();
        Assert.Single(PartSizes());
        Assert.Equal(3000, (await AllAsync("x")).Count);
    }

    [Fact]
    public async Task A_bucket_filling_up_is_written_once_in_parts_and_joined_when_done()
    {
        // A 1 Hz series checkpointed every 300 points (a live hub does so every five minutes).
        await _store.DisposeAsync();
        Directory.Delete(_dir.Path, recursive: true);
        _store = Open(o => o.CheckpointPoints = 300);
        var random = new Random(3);
        var expected = new List<DataPoint>();
        var written = new List<long>();
        for (var checkpoint = 0; checkpoint < 12; checkpoint++)
        {
            var readings = Enumerable.Range(checkpoint * 300, 300).Select(i => R("x", T0 + i * 1000L, Math.Round(20 + random.NextDouble() * 5, 1))).ToList();
            await _store.AppendAsync(readings);
            expected.AddRange(readings.Select(r => new DataPoint(r.TimestampMs, r.Value)));

            await CheckpointsReachedAsync(checkpoint + 1);
            written.Add(_store.GetStatistics().ChunkBytesWritten);
        }

        // Each checkpoint wrote only its new points as a part: the 12th wrote about what the 2nd did, not 6x.
        var chunkBytes = PartSizes(T0);
        Assert.Equal(12, chunkBytes.Count);
        Assert.InRange(written[11] - written[10], 0, 2 * (written[1] - written[0]));
        Assert.Equal(expected, await AllAsync("x"));
        await AssertAggregatesMatchRawAsync();

        // The next hour's points come; the done bucket's twelve small parts are written as one by the next
        // checkpoint that is not hurried by a backfill (here one asked for).
        await _store.AppendAsync([R("x", T0 + 3_600_000, 1)]);
        await _store.CheckpointAsync();
        Assert.Single(PartSizes(T0));
        Assert.True(PartSizes(T0).Single() < chunkBytes.Sum(), "one part is smaller than twelve");
        expected.Add(new DataPoint(T0 + 3_600_000, 1));
        Assert.Equal(expected, await AllAsync("x"));
        await AssertAggregatesMatchRawAsync();

        await _store.DisposeAsync();
        _store = Open();
        Assert.Equal(expected, await AllAsync("x"));
        await AssertAggregatesMatchRawAsync();
    }

    [Fact]
    public async Task Columns_store_what_the_same_readings_store_and_replay_exactly_after_a_crash()
    {
        // Values that move between decimal scales, whole numbers too large for the finest scale, and noise: the
        // log picks a scale per value from the last one, so every switch must still come back bit for bit.
        var values = new Func<Random, double>[]
        {
            r => Math.Round(20 + r.Next(-40, 40) / 10.0, 1),
            r => r.Next(6) switch { 0 => 20.0, 1 => 20.15, 2 => 12_345_678.0, 3 => 1e7 + r.Next(100) / 10.0, 4 => 123456789012.5, _ => r.NextDouble() },
            r => r.NextDouble() * 1e6,
            r => r.Next(2) == 0 ? -0.0 : r.NextDouble() is var d && d < 0.5 ? double.Epsilon : 123456789012.5,
        };
        await using var byReadings = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = Path.Combine(_dir.Path, "readings") });
        var random = new Random(5);
        var written = new Dictionary<(string, long), double>();
        for (var batch = 0; batch < 30; batch++)
        {
            var columns = new List<SeriesColumns>();
            for (var m = 0; m < values.Length; m++)
            {
                // Mostly new points, some repeated (same or changed value), some late.
                var times = Enumerable.Range(0, random.Next(1, 80)).Select(i => random.Next(8) switch
                {
                    0 => T0 + random.Next(0, Math.Max(1, batch)) * 60_000L,
                    1 => T0 - random.Next(1, 5_000_000),
                    _ => T0 + batch * 60_000L + i * 700,
                }).ToArray();
                var repeat = written.Keys.Where(k => k.Item1 == "c" + m).Take(random.Next(3)).ToList();
                var columnTimes = times.Concat(repeat.Select(k => k.Item2)).ToArray();
                var columnValues = columnTimes.Select((t, i) => i >= times.Length && random.Next(2) == 0 ? written[("c" + m, t)] : values[m](random)).ToArray();
                columns.Add(new SeriesColumns(new SeriesKey("dev", "c" + m), string.Empty, columnTimes, columnValues));
            }

            var asColumns = await _store.AppendColumnsAsync(columns);
            var asReadings = await byReadings.AppendAsync(columns.SelectMany(c => c.Times.Select((t, i) => new Reading(c.Series, t, c.Values[i], c.Unit))).ToList());
            Assert.Equal((asReadings.Inserted, asReadings.Updated, asReadings.Duplicates), (asColumns.Inserted, asColumns.Updated, asColumns.Duplicates));
            Assert.Equal(
                asReadings.Stored.Select(r => (r.Series, r.TimestampMs, BitConverter.DoubleToInt64Bits(r.Value))),
                asColumns.Stored.SelectMany(c => c.Times.Select((t, i) => (c.Series, t, BitConverter.DoubleToInt64Bits(c.Values[i])))));
            foreach (var c in columns)
            {
                for (var i = 0; i < c.Count; i++)
                    written[(c.Series.Metric, c.Times[i])] = c.Values[i];
            }

            if (batch == 10)
                await _store.CheckpointAsync();
        }

        // A crash: the files as they are on disk now; the log holds everything since the checkpoint.
        var crash = Path.Combine(_dir.Path, "crash");
        Directory.CreateDirectory(crash);
        foreach (var file in Directory.GetFiles(_dir.Path))
            File.Copy(file, Path.Combine(crash, Path.GetFileName(file)));
        await using var recovered = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = crash });
        for (var m = 0; m < values.Length; m++)
        {
            var expected = written.Where(kv => kv.Key.Item1 == "c" + m).OrderBy(kv => kv.Key.Item2).Select(kv => (kv.Key.Item2, BitConverter.DoubleToInt64Bits(kv.Value))).ToList();
            foreach (var store in new[] { _store, recovered, byReadings })
            {
                var actual = (await store.ReadRangeAsync(new SeriesKey("dev", "c" + m), 0, long.MaxValue, int.MaxValue)).Select(p => (p.TimestampMs, BitConverter.DoubleToInt64Bits(p.Value)));
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public async Task Columns_in_another_unit_than_their_series_are_refused_whole()
    {
        await _store.AppendAsync([new Reading(new SeriesKey("dev", "t"), T0, 1, "degC")]);

        var result = await _store.AppendColumnsAsync(
        [
            new SeriesColumns(new SeriesKey("dev", "t"), "degF", [T0 + 1000, T0 + 2000], [1, 2]),
            new SeriesColumns(new SeriesKey("dev", "u"), "%", [T0 + 1000], [50]),
        ]);

        Assert.Equal("t", Assert.Single(result.UnitConflicts).Series.Metric);
        Assert.Equal("u", Assert.Single(result.Stored).Series.Metric);
        Assert.Single(await AllAsync("t"));
    }

    [Fact]
    public async Task Everything_in_the_log_is_replayed_exactly_after_a_crash()
    {
        var random = new Random(11);
        var specials = new[] { -0.0, 0.0, 1e-300, 123456789012.5, double.Epsilon, 21.5, 21.5, -3.25 };
        var written = new Dictionary<(string, long), double>();
        for (var batch = 0; batch < 20; batch++)
        {
            var readings = new List<Reading>();
            for (var i = 0; i < 50; i++)
            {
                var t = T0 + batch * 50_000L + i * 1000;
                readings.Add(R("walk", t, Math.Round(20 + random.Next(-40, 40) / 10.0, 1)));
                readings.Add(R("random", t, random.NextDouble() * 1e6));
                readings.Add(R("special", t, specials[(batch * 50 + i) % specials.Length]));
                readings.Add(R("late", T0 - random.Next(1, 5_000_000), Math.Round(random.NextDouble() * 100, 2)));
            }

            await _store.AppendAsync(readings);
            foreach (var r in readings)
                written[(r.Series.Metric, r.TimestampMs)] = r.Value;
        }

        // A crash: the files as they are on disk now, nothing checkpointed (the interval is an hour).
        var crash = Path.Combine(_dir.Path, "crash");
        Directory.CreateDirectory(crash);
        foreach (var file in Directory.GetFiles(_dir.Path))
            File.Copy(file, Path.Combine(crash, Path.GetFileName(file)));
        await using var recovered = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = crash });
        foreach (var metric in new[] { "walk", "random", "special", "late" })
        {
            var expected = written.Where(kv => kv.Key.Item1 == metric).OrderBy(kv => kv.Key.Item2).Select(kv => (kv.Key.Item2, BitConverter.DoubleToInt64Bits(kv.Value)));
            var actual = (await recovered.ReadRangeAsync(new SeriesKey("dev", metric), 0, long.MaxValue, int.MaxValue)).Select(p => (p.TimestampMs, BitConverter.DoubleToInt64Bits(p.Value)));
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task Retention_drops_whole_old_chunks_and_says_so()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 10 * 86_400_000L));
        await _store.DisposeAsync();
        _store = Open(b =>
        {
            b.Time = time;
            b.Retention = [new RetentionRule("dev/*", TimeSpan.FromDays(5), null, null)];
        });
        await _store.AppendAsync(Enumerable.Range(0, 10).Select(d => R("x", T0 + d * 86_400_000L, d)).ToList());
        await _store.CheckpointAsync();
        var left = await AllAsync("x");
        Assert.Equal([5.0, 6, 7, 8, 9], left.Select(p => p.Value));
        var stats = _store.GetStatistics();
        Assert.Equal(5, stats.DroppedPoints);
        Assert.True(_store.TryGetSeries(new SeriesKey("dev", "x"), out var info));
        Assert.Equal(5, info.PointCount);
        Assert.Equal(T0 + 5 * 86_400_000L, info.FirstMs);
    }

    [Fact]
    public async Task The_disk_budget_drops_the_oldest_buckets_of_every_series_until_the_store_fits()
    {
        await _store.DisposeAsync();
        _store = Open(b => b.DiskBudgetBytes = 400_000);

        // Eight hours of two noisy 1 Hz series: about 460 KB of chunks, over the budget.
        var random = new Random(4);
        foreach (var metric in new[] { "a", "b" })
            await _store.AppendAsync(Enumerable.Range(0, 8 * 3600).Select(i => R(metric, T0 + i * 1000L, random.NextDouble())).ToList());
        await _store.CheckpointAsync();

        var stats = _store.GetStatistics();
        Assert.True(stats.DroppedChunks >= 2, $"{stats.DroppedChunks} chunks dropped");
        Assert.Equal(stats.DroppedChunks * 3600, stats.DroppedPoints);
        foreach (var metric in new[] { "a", "b" })
        {
            // Whole buckets go, oldest first, the same for both series; the newest stay.
            var left = await AllAsync(metric);
            Assert.Equal(8 * 3600 - (stats.DroppedPoints / 2), left.Count);
            Assert.Equal(T0 + (8 * 3600 - 1) * 1000L, left[^1].TimestampMs);
            Assert.Equal(0, (left[0].TimestampMs - T0) % 3_600_000);
            Assert.True(_store.TryGetSeries(new SeriesKey("dev", metric), out var info));
            Assert.Equal(left.Count, info.PointCount);
            Assert.Equal(left[0].TimestampMs, info.FirstMs);
        }
    }
}

/// <summary>Mutable stand-in for the init-only options, so tests can tweak them before opening.</summary>
internal sealed class ChunkStoreOptionsBuilder
{
    public required string DataDirectory { get; set; }

    public TimeProvider Time { get; set; } = TimeProvider.System;

    public IReadOnlyList<RetentionRule> Retention { get; set; } = [];

    public long CheckpointPoints { get; set; } = 1_000_000;

    public int MaxChunkPoints { get; set; } = 36_000;

    public long? DiskBudgetBytes { get; set; }

    public ChunkStoreOptions Build() => new() { DataDirectory = DataDirectory, Time = Time, Retention = Retention, CheckpointInterval = TimeSpan.FromHours(1), CheckpointPoints = CheckpointPoints, MaxChunkPoints = MaxChunkPoints, DiskBudgetBytes = DiskBudgetBytes };
}
