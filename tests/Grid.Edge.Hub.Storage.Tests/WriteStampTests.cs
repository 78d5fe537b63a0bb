using CsCheck;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Tests;

/// <summary>Conflicting values for one (series, timestamp) resolve by (hybrid logical clock, origin) everywhere.</summary>
public sealed class WriteStampTests : IAsyncLifetime
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z
    private static readonly SeriesKey Pressure = new("ws1", "pressure");
    private readonly TempDirectory _dir = new();
    private readonly List<ChunkedTimeSeriesStore> _open = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _open)
            await store.DisposeAsync();
        _dir.Dispose();
    }

    private ChunkedTimeSeriesStore Open(string name, string? origin = null, int maxChunkPoints = 36_000)
    {
        var store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions
        {
            DataDirectory = Path.Combine(_dir.Path, name),
            Origin = origin,
            CheckpointInterval = TimeSpan.FromHours(1),
            MaxChunkPoints = maxChunkPoints,
        });
        _open.Add(store);
        return store;
    }

    private async Task CloseAsync(ChunkedTimeSeriesStore store)
    {
        _open.Remove(store);
        await store.DisposeAsync();
    }

    private static Reading R(long t, double v) => new(Pressure, t, v, "hPa");

    private static StampedReading S(long t, double v, long hlcMs, string origin, int counter = 0) =>
        new(R(t, v), new WriteStamp(WriteStamp.HlcOf(hlcMs) + counter, origin));

    private static async Task<double> ValueAt(ChunkedTimeSeriesStore store, long t) =>
        Assert.Single(await store.ReadRangeAsync(Pressure, t, t + 1, 10)).Value;

    [Fact]
    public async Task A_store_keeps_its_origin_name_across_restarts()
    {
        var store = Open("a");
        var origin = store.Origin;
        Assert.StartsWith("store-", origin, StringComparison.Ordinal);
        await CloseAsync(store);
        Assert.Equal(origin, Open("a").Origin);
        Assert.Equal("bus-7", Open("b", origin: "bus-7").Origin);
    }

    [Fact]
    public async Task A_store_with_a_made_up_name_takes_the_first_name_given_for_its_points_and_a_given_name_stays()
    {
        var store = Open("made-up");
        await store.AppendAsync([R(T0, 1013)]);
        await CloseAsync(store);
        store = Open("made-up", origin: "k7q2m4xj3pn5ra6tb2wc7dye4f");
        Assert.Equal("k7q2m4xj3pn5ra6tb2wc7dye4f", store.Origin);
        await store.AppendAsync([R(T0 + 1000, 1014)]);
        Assert.All((await store.ReadStampedBucketAsync(Pressure, T0))!.Stamps, stamp => Assert.Equal("k7q2m4xj3pn5ra6tb2wc7dye4f", stamp.Origin));

        // A name given once is the store's: another one later is a new origin, and the points keep theirs.
        await CloseAsync(store);
        store = Open("made-up", origin: "another-hub");
        Assert.Equal("another-hub", store.Origin);
        await store.AppendAsync([R(T0 + 2000, 1015)]);
        Assert.Equal(
            ["k7q2m4xj3pn5ra6tb2wc7dye4f", "k7q2m4xj3pn5ra6tb2wc7dye4f", "another-hub"],
            (await store.ReadStampedBucketAsync(Pressure, T0))!.Stamps.Select(stamp => stamp.Origin));
    }

    [Fact]
    public async Task A_merged_write_wins_only_with_a_greater_stamp_and_ties_go_to_the_greater_origin()
    {
        var store = Open("a", origin: "hub-a");
        await store.AppendAsync([R(T0, 1013.2)]);

        // The first write's stamp is its own time: an older clock loses, a later one wins.
        var older = await store.MergeAsync([S(T0, 999, T0 - 1, "hub-b")]);
        Assert.Equal(1, older.Superseded);
        Assert.Empty(older.Stored);
        Assert.Equal(1013.2, await ValueAt(store, T0));

        var tieLower = await store.MergeAsync([S(T0, 998, T0, "hub-0")]);
        Assert.Equal(1, tieLower.Superseded);
        var tieHigher = await store.MergeAsync([S(T0, 1013.5, T0, "hub-b")]);
        Assert.Equal(1, tieHigher.Updated);
        Assert.Equal(1013.5, await ValueAt(store, T0));

        var later = await store.MergeAsync([S(T0, 1014, T0 + 60_000, "hub-c")]);
        Assert.Equal(1, later.Updated);
        Assert.Equal(1014, await ValueAt(store, T0));
        Assert.Equal(1, (await store.MergeAsync([S(T0, 1014, T0 + 60_000, "hub-c")])).Duplicates);
    }

    [Fact]
    public async Task A_local_correction_is_ordered_after_what_it_corrects_even_a_stamp_from_a_clock_ahead()
    {
        var store = Open("a", origin: "hub-a");
        var farFuture = DateTimeOffset.UtcNow.AddDays(3).ToUnixTimeMilliseconds();
        await store.MergeAsync([S(T0, 5, farFuture, "hub-fast")]);

        var corrected = await store.AppendAsync([R(T0, 6)]);
        Assert.Equal(1, corrected.Updated);
        Assert.Equal(6, await ValueAt(store, T0));

        // Another store that saw only the fast hub's value takes the correction too: its stamp is greater.
        var other = Open("b", origin: "hub-b");
        await other.MergeAsync([S(T0, 5, farFuture, "hub-fast")]);
        await other.MergeAsync([S(T0, 6, farFuture, "hub-a", counter: 1)]);
        Assert.Equal(6, await ValueAt(other, T0));
    }

    [Fact]
    public async Task Kept_stamps_survive_a_checkpoint_and_a_restart()
    {
        var store = Open("a", origin: "hub-a");
        await store.MergeAsync([S(T0, 7, T0 + 5000, "hub-b"), S(T0 + 1000, 8, T0 + 1000, "hub-b")]);
        await store.AppendAsync([R(T0 + 2000, 9)]);
        await store.CheckpointAsync();
        await CloseAsync(store);

        store = Open("a");
        Assert.Equal("hub-a", store.Origin);
        Assert.Equal(1, (await store.MergeAsync([S(T0, 70, T0 + 4999, "hub-z")])).Superseded);
        Assert.Equal(1, (await store.MergeAsync([S(T0 + 1000, 80, T0 + 1000, "hub-a")])).Superseded); // "hub-a" < "hub-b"
        Assert.Equal(1, (await store.MergeAsync([S(T0 + 2000, 90, T0 + 2000, "hub-0")])).Superseded);
        Assert.Equal(1, (await store.MergeAsync([S(T0 + 2000, 91, T0 + 2000, "hub-b")])).Updated);
        Assert.Equal([7.0, 8, 91], (await store.ReadRangeAsync(Pressure, T0, T0 + 3000, 10)).Select(p => p.Value));
    }

    [Fact]
    public async Task Kept_stamps_of_a_bucket_split_into_parts_survive_a_restart()
    {
        var store = Open("a", origin: "hub-a", maxChunkPoints: 16);
        await store.AppendAsync(Enumerable.Range(0, 100).Select(i => R(T0 + i * 1000L, i)).ToList());
        await store.MergeAsync(Enumerable.Range(0, 100).Where(i => i % 7 == 0).Select(i => S(T0 + i * 1000L, -i, T0 + 500_000, "hub-b")).ToList());
        await store.CheckpointAsync();
        await CloseAsync(store);

        store = Open("a", maxChunkPoints: 16);
        var lower = await store.MergeAsync(Enumerable.Range(0, 100).Where(i => i % 7 == 0).Select(i => S(T0 + i * 1000L, 1000 + i, T0 + 499_999, "hub-z")).ToList());
        Assert.Equal(15, lower.Superseded);
        var higher = await store.MergeAsync(Enumerable.Range(0, 100).Where(i => i % 7 != 0).Select(i => S(T0 + i * 1000L, 2000 + i, T0 + i * 1000L, "hub-b")).ToList());
        Assert.Equal(85, higher.Updated); // first writes of "hub-a" lose a tie to "hub-b"
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i % 7 == 0 ? -i : 2000.0 + i), (await store.ReadRangeAsync(Pressure, T0, T0 + 100_000, 200)).Select(p => p.Value));
    }

    [Fact]
    public async Task Kept_stamps_are_replayed_from_the_log_after_a_crash()
    {
        var store = Open("a", origin: "hub-a");
        await store.AppendAsync([R(T0, 1)]);
        await store.MergeAsync([S(T0 + 1000, 2, T0 + 9000, "hub-b")]);
        await store.AppendAsync([R(T0, 3)]); // a local correction: a clock stamp of now

        // The files as they are now: nothing checkpointed, everything in the log.
        var crash = Path.Combine(_dir.Path, "crash");
        Directory.CreateDirectory(crash);
        foreach (var file in Directory.GetFiles(Path.Combine(_dir.Path, "a")))
            File.Copy(file, Path.Combine(crash, Path.GetFileName(file)));
        var recovered = Open("crash");
        Assert.Equal("hub-a", recovered.Origin);
        Assert.Equal(1, (await recovered.MergeAsync([S(T0 + 1000, 20, T0 + 8999, "hub-z")])).Superseded);
        Assert.Equal(1, (await recovered.MergeAsync([S(T0, 30, T0 + 1000, "hub-z")])).Superseded); // the correction is newer
        Assert.Equal([3.0, 2], (await recovered.ReadRangeAsync(Pressure, T0, T0 + 2000, 10)).Select(p => p.Value));
    }

    [Fact]
    public async Task Stores_that_receive_the_same_writes_in_any_order_agree_on_every_point()
    {
        var origins = new[] { "hub-a", "hub-b", "hub-c" };
        var write = Gen.Select(Gen.Int[0, 5], Gen.Int[0, 3], Gen.Int[0, 4], Gen.Int[0, 2], Gen.Int[0, 2])
            .Select((point, value, clock, counter, origin) => S(T0 + point * 1000L, 1000 + value / 2.0, T0 + clock * 500L, origins[origin], counter));
        var round = 0;
        await Gen.Select(write.Array[1, 40], Gen.Int[0, int.MaxValue]).SampleAsync(async (writes, seed) =>
        {
            round++;
            var random = new Random(seed);
            var shuffled = writes.OrderBy(_ => random.Next()).ToArray();
            var first = Open($"first{round}", "hub-x");
            var second = Open($"second{round}", "hub-y");
            foreach (var batch in writes.Chunk(1 + random.Next(5)))
                await first.MergeAsync(batch);
            for (var i = 0; i < shuffled.Length; i++)
            {
                await second.MergeAsync([shuffled[i]]);
                if (random.Next(6) == 0)
                    await second.CheckpointAsync();
                if (random.Next(10) == 0)
                {
                    await CloseAsync(second);
                    second = Open($"second{round}");
                }
            }

            // The winner of each point is the write with the greatest (clock, origin, value).
            var expected = writes.GroupBy(w => w.Reading.TimestampMs)
                .Select(g => g.Aggregate((a, b) => WriteStamp.Compare(a.Stamp, a.Reading.Value, b.Stamp, b.Reading.Value) >= 0 ? a : b))
                .OrderBy(w => w.Reading.TimestampMs)
                .Select(w => new DataPoint(w.Reading.TimestampMs, w.Reading.Value));
            Assert.Equal(expected, await first.ReadRangeAsync(Pressure, 0, long.MaxValue, 100));
            Assert.Equal(expected, await second.ReadRangeAsync(Pressure, 0, long.MaxValue, 100));
            await CloseAsync(first);
            await CloseAsync(second);
        }, iter: 40, threads: 1);
    }

    [Fact]
    public async Task A_merged_reading_without_an_origin_or_with_an_unstampable_time_or_value_is_refused()
    {
        var store = Open("a");
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.MergeAsync([new StampedReading(R(T0, 1), new WriteStamp(1, ""))]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.MergeAsync([S(1L << 50, 1, T0, "hub-b")]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.MergeAsync([S(T0, double.NaN, T0, "hub-b")]));
        Assert.Equal(0, store.GetStatistics().PointCount);
    }

    [Fact]
    public void The_clock_never_goes_back_and_passes_every_stamp_it_observes()
    {
        var time = new SteppableTime { Now = DateTimeOffset.FromUnixTimeMilliseconds(T0) };
        var clock = new HybridLogicalClock(time);
        var a = clock.Next();
        Assert.Equal(WriteStamp.HlcOf(T0), a);
        Assert.Equal(a + 1, clock.Next());
        clock.Observe(WriteStamp.HlcOf(T0 + 10_000));
        Assert.Equal(WriteStamp.HlcOf(T0 + 10_000) + 1, clock.Next());
        time.Now += TimeSpan.FromSeconds(20);
        Assert.Equal(WriteStamp.HlcOf(T0 + 20_000), clock.Next());
        time.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0); // the wall clock stepped back (NTP)
        Assert.True(clock.Next() > WriteStamp.HlcOf(T0 + 20_000));
    }

    /// <summary>A wall clock that can also step back, as a real one does when NTP corrects it.</summary>
    private sealed class SteppableTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
