using Grid.Edge.Hub.Storage.Aggregation;
using Grid.Edge.Hub.Storage.Changes;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Tests;

/// <summary>What replication reads to export: the buckets changed since a cursor, and one bucket with each point's stamp.</summary>
public sealed class BucketChangeTests : IAsyncLifetime
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z, the start of an hour
    private const long Hour = 3_600_000;
    private static readonly SeriesKey Pressure = new("ws1", "pressure");
    private static readonly SeriesKey Rain = new("ws1", "rain");
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

    private ChunkedTimeSeriesStore Open(TimeProvider? time = null, IReadOnlyList<RetentionRule>? retention = null) =>
        ChunkedTimeSeriesStore.Open(new ChunkStoreOptions
        {
            DataDirectory = _dir.Path,
            Origin = "hub-a",
            Time = time ?? TimeProvider.System,
            Retention = retention ?? [],
            CheckpointInterval = TimeSpan.FromHours(1),
        });

    private static Reading R(SeriesKey key, long t, double v) => new(key, t, v, "hPa");

    [Fact]
    public async Task Each_written_bucket_is_listed_once_after_the_cursor_and_a_bucket_changed_again_moves_to_the_end()
    {
        Assert.Empty((await _store.ReadChangesAsync(0, 100)).Changes);
        await _store.AppendAsync([R(Pressure, T0, 1013), R(Pressure, T0 + Hour, 1012), R(Rain, T0 + 5, 0.2)]);

        // Acknowledged but not yet written to the chunk store: not listed yet.
        Assert.Empty((await _store.ReadChangesAsync(0, 100)).Changes);
        await _store.CheckpointAsync();
        var first = await _store.ReadChangesAsync(0, 100);
        Assert.False(first.More);
        Assert.Equal(
            [(Pressure, T0), (Pressure, T0 + Hour), (Rain, T0)],
            first.Changes.Select(c => (c.Series, c.BucketStart)).OrderBy(c => c.Series.Metric).ThenBy(c => c.BucketStart));
        Assert.Equal(first.Changes.Max(c => c.Change), first.Cursor);
        Assert.Equal(first.Changes.Select(c => c.Change).Order(), first.Changes.Select(c => c.Change));

        // Nothing new: nothing after the cursor, and a duplicate changes nothing.
        await _store.AppendAsync([R(Pressure, T0, 1013)]);
        await _store.CheckpointAsync();
        var none = await _store.ReadChangesAsync(first.Cursor, 100);
        Assert.Empty(none.Changes);
        Assert.Equal(first.Cursor, none.Cursor);

        // A late point in the first hour: only that bucket, with a number past the cursor.
        await _store.AppendAsync([R(Pressure, T0 + 30_000, 1013.5)]);
        await _store.CheckpointAsync();
        var again = await _store.ReadChangesAsync(first.Cursor, 100);
        var change = Assert.Single(again.Changes);
        Assert.Equal((Pressure, T0), (change.Series, change.BucketStart));
        Assert.True(change.Change > first.Cursor);
        Assert.Equal(3, (await _store.ReadChangesAsync(0, 100)).Changes.Count);
    }

    [Fact]
    public async Task Pages_give_every_change_exactly_once_and_numbers_keep_growing_across_a_restart()
    {
        await _store.AppendAsync(Enumerable.Range(0, 25).Select(h => R(Pressure, T0 + h * Hour, 1000 + h)).ToList());
        await _store.CheckpointAsync();
        var seen = await ReadAllAsync(0, pageSize: 7);
        Assert.Equal(Enumerable.Range(0, 25).Select(h => T0 + h * Hour), seen.Select(c => c.BucketStart).Order());
        var cursor = seen[^1].Change;

        await _store.DisposeAsync();
        _store = Open();
        Assert.Equal(seen, await ReadAllAsync(0, pageSize: 100));
        await _store.AppendAsync([R(Pressure, T0 + 3 * Hour + 1, 999)]);
        await _store.CheckpointAsync();
        var after = Assert.Single((await _store.ReadChangesAsync(cursor, 100)).Changes);
        Assert.Equal(T0 + 3 * Hour, after.BucketStart);
        Assert.True(after.Change > cursor);
    }

    [Fact]
    public async Task A_bucket_reads_back_with_each_point_s_write_stamp_from_memory_and_from_the_chunk_store_alike()
    {
        await _store.AppendAsync([R(Pressure, T0, 1013), R(Pressure, T0 + 1000, 1014), R(Pressure, T0 + 2000, 1015)]);
        var corrected = await _store.AppendAsync([R(Pressure, T0 + 1000, 1014.5)]);
        Assert.Equal(1, corrected.Updated);
        var remote = new WriteStamp(WriteStamp.HlcOf(T0 + 10 * Hour), "hub-b");
        await _store.MergeAsync([new StampedReading(R(Pressure, T0 + 2000, 1016), remote), new StampedReading(R(Pressure, T0 + 3000, 1017), remote)]);

        var inMemory = await _store.ReadStampedBucketAsync(Pressure, T0);
        Assert.NotNull(inMemory);
        Assert.Equal(0, inMemory.Change);
        Assert.Equal([T0, T0 + 1000, T0 + 2000, T0 + 3000], inMemory.Times);
        Assert.Equal([1013, 1014.5, 1016, 1017], inMemory.Values);
        Assert.Equal("hPa", inMemory.Unit);
        Assert.Equal(WriteStamp.FirstWrite(T0, "hub-a"), inMemory.Stamps[0]);
        Assert.Equal("hub-a", inMemory.Stamps[1].Origin);
        Assert.True(inMemory.Stamps[1].Hlc > WriteStamp.HlcOf(T0 + 1000), "a correction is stamped after the first write");
        Assert.Equal(remote, inMemory.Stamps[2]);
        Assert.Equal(remote, inMemory.Stamps[3]);

        await _store.CheckpointAsync();
        await _store.DisposeAsync();
        _store = Open();
        var stored = await _store.ReadStampedBucketAsync(Pressure, T0);
        Assert.NotNull(stored);
        Assert.Equal(Assert.Single((await _store.ReadChangesAsync(0, 10)).Changes).Change, stored.Change);
        Assert.Equal(inMemory with { Change = stored.Change }, stored, new StampedBucketComparer());

        Assert.Null(await _store.ReadStampedBucketAsync(new SeriesKey("nobody", "x"), T0));
        Assert.Empty((await _store.ReadStampedBucketAsync(Pressure, T0 + Hour))!.Times);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.ReadStampedBucketAsync(Pressure, T0 + 1));
        Assert.Contains("not the start of a bucket", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bucket_s_minute_and_hour_summaries_match_its_points_before_and_after_it_is_written()
    {
        var points = Enumerable.Range(0, 600).Select(i => R(Pressure, T0 + i * 5_000L, 1000 + (i % 17) / 4.0)).ToList();
        await _store.AppendAsync(points);
        await _store.CheckpointAsync();
        await _store.AppendAsync([R(Pressure, T0 + 7, 990)]); // the bucket has changes not yet written
        var times = points.Select(p => p.TimestampMs).Append(T0 + 7).Order().ToArray();
        var values = times.Select(t => t == T0 + 7 ? 990 : points.Single(p => p.TimestampMs == t).Value).ToArray();

        foreach (var checkpointed in new[] { false, true })
        {
            if (checkpointed)
                await _store.CheckpointAsync();
            var minutes = await _store.ReadRollupsAsync(Pressure, T0, StoreTier.Minute);
            Assert.Equal(Rollups.Of(times, values, TimeBuckets.MinuteMs), minutes);
            var hour = Assert.Single(await _store.ReadRollupsAsync(Pressure, T0, StoreTier.Hour));
            Assert.Equal((T0, 601L, 990.0, values.Max()), (hour.Start, hour.Count, hour.Min, hour.Max));
            Assert.Equal(values.Sum(), hour.Sum, 6);
        }

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.ReadRollupsAsync(Pressure, T0, StoreTier.Raw));
    }

    [Fact]
    public async Task A_bucket_retention_dropped_in_every_tier_is_no_longer_listed()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 10 * 24 * Hour));
        await _store.DisposeAsync();
        _store = Open(time, [new RetentionRule("ws1/*", TimeSpan.FromDays(3), TimeSpan.FromDays(5), TimeSpan.FromDays(7))]);
        await _store.AppendAsync(Enumerable.Range(0, 10).Select(d => R(Pressure, T0 + d * 24 * Hour, d)).ToList());
        await _store.CheckpointAsync();

        // Days 0 to 2 are older than every tier's retention; days 3 and 4 keep their hour summaries.
        var listed = (await _store.ReadChangesAsync(0, 100)).Changes.Select(c => (c.BucketStart - T0) / (24 * Hour)).Order();
        Assert.Equal([3L, 4, 5, 6, 7, 8, 9], listed);
        Assert.Empty((await _store.ReadStampedBucketAsync(Pressure, T0 + 4 * 24 * Hour))!.Times);
        Assert.Single(await _store.ReadRollupsAsync(Pressure, T0 + 4 * 24 * Hour, StoreTier.Hour));
    }

    private async Task<List<BucketChange>> ReadAllAsync(long since, int pageSize)
    {
        var all = new List<BucketChange>();
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await _store.ReadChangesAsync(since, pageSize);
            all.AddRange(page.Changes);
            Assert.True(page.Changes.Count <= pageSize);
            since = page.Cursor;
            if (!page.More)
                return all;
        }

        throw new InvalidOperationException("the pages never ended");
    }

    private sealed class StampedBucketComparer : IEqualityComparer<StampedBucket>
    {
        public bool Equals(StampedBucket? x, StampedBucket? y) =>
            x is not null && y is not null && x.Series == y.Series && x.Unit == y.Unit && x.BucketStart == y.BucketStart && x.Change == y.Change
            && x.Times.SequenceEqual(y.Times) && x.Values.SequenceEqual(y.Values) && x.Stamps.SequenceEqual(y.Stamps);

        public int GetHashCode(StampedBucket obj) => obj.BucketStart.GetHashCode();
    }
}
