using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Testing.Storage;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Tests;

/// <summary>
/// The store under a failing disk and power cuts: no acknowledgement for a reading that is not durable, no
/// acknowledged reading lost, recovery by itself once a fault clears, every intact log record kept.
/// </summary>
public sealed class StoreFaultTests : IDisposable
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z
    private readonly TempDirectory _dir = TempDirectory.InMemory();

    public void Dispose() => _dir.Dispose();

    private static ChunkStoreOptions Options(string folder, StoreFiles? files = null) => new()
    {
        DataDirectory = folder,
        Files = files ?? StoreFiles.Real,
        MaxChunkPoints = 16,
        CheckpointInterval = TimeSpan.FromHours(1),
        RecoveryInterval = TimeSpan.FromMilliseconds(1),
    };

    [Fact]
    public async Task Power_cuts_at_random_moments_lose_no_acknowledged_reading_and_the_store_always_opens()
    {
        const int Trials = 500;
        var results = new PowerLossTrial.Result[Trials];

        // Two at a time: each trial is small and mostly waits on SQLite's fsyncs.
        await Parallel.ForEachAsync(Enumerable.Range(0, Trials), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (seed, _) =>
            results[seed] = await PowerLossTrial.RunAsync(seed, Path.Combine(_dir.Path, seed.ToString(System.Globalization.CultureInfo.InvariantCulture))));

        Assert.Empty(results.Where(r => r.Problem is not null).Select(r => $"seed {r.Seed}, cut at operation {r.CutAt}: {r.Problem}"));

        // The cuts must land inside the workloads (writes, fsyncs, checkpoints), not only after them.
        Assert.True(results.Count(r => r.CutAt <= r.Ops) > Trials / 2, $"only {results.Count(r => r.CutAt <= r.Ops)} cuts landed in a workload");
        Assert.True(results.Sum(r => r.Acknowledged) > Trials * 10);
    }

    [Fact]
    public async Task Every_failing_write_fsync_rename_and_commit_is_survived_without_a_false_acknowledgement()
    {
        // The same workload once without faults, to count its operations.
        var counting = new SimulatedDisk();
        var baseline = new StoreWorkload(seed: 7, lanes: 2, appendsPerLane: 10);
        var kinds = new[] { DiskOp.Write, DiskOp.Sync, DiskOp.SetLength, DiskOp.IndexCommit, DiskOp.IndexCommitted };
        Dictionary<DiskOp, int> counts;
        await using (var store = ChunkedTimeSeriesStore.Open(Options(Path.Combine(_dir.Path, "count"), counting)))
        {
            await baseline.RunAsync(store, retry: true);
            counts = kinds.ToDictionary(kind => kind, counting.Count);
        }

        foreach (var kind in kinds)
            Assert.True(counts[kind] > 0, $"the workload does no {kind}");

        var runs = new List<(DiskOp Kind, int N)>();
        foreach (var kind in kinds)
            runs.AddRange(Enumerable.Range(1, counts[kind]).Select(n => (kind, n)));

        // Renames and folder syncs happen when the log is replaced: after a failed write (the 3rd here).
        runs.AddRange([(DiskOp.Move, 1), (DiskOp.Move, 2), (DiskOp.SyncDirectory, 2), (DiskOp.SyncDirectory, 3)]);
        var failures = new List<string>();
        var run = 0;
        foreach (var (kind, n) in runs)
        {
            var problem = await RunWithFaultAsync(kind, n, noSpace: run++ % 2 == 0, Path.Combine(_dir.Path, $"{kind}-{n}"));
            if (problem is not null)
                failures.Add($"{kind} #{n}: {problem}");
        }

        Assert.Empty(failures);
        Assert.True(runs.Count > 40, $"only {runs.Count} faults were injected");
    }

    /// <summary>
    /// The workload with operation <paramref name="n"/> of <paramref name="kind"/> and the one after it failing,
    /// devices resending what failed. Right after the first resend is acknowledged, and at the end, a power cut
    /// must find every acknowledged reading; the store must be back to ok by itself.
    /// </summary>
    private static async Task<string?> RunWithFaultAsync(DiskOp kind, int n, bool noSpace, string folder)
    {
        var disk = new SimulatedDisk(n) { SqliteFolder = folder };
        if (kind is DiskOp.Move or DiskOp.SyncDirectory)
            disk.Fail(DiskOp.Write, 3, noSpace: noSpace);
        disk.Fail(kind, n, count: 2, noSpace: noSpace);
        var workload = new StoreWorkload(seed: 7, lanes: 2, appendsPerLane: 10);
        string? atRetry = null;
        var checkedRetry = false;
        await using (var store = ChunkedTimeSeriesStore.Open(Options(folder, disk)))
        {
            await workload.RunAsync(
                store,
                retry: true,
                afterRetry: async () =>
                {
                    if (checkedRetry)
                        return;
                    checkedRetry = true;

                    // The moment a false acknowledgement would be given: is what was acknowledged durable now?
                    atRetry = await CheckDurableNowAsync(disk, workload, folder + "-retry");
                });
            if (atRetry is not null)
                return "right after the resend: " + atRetry;
            if (workload.Failures > 0 && !checkedRetry)
                return "appends failed but none was resent";
            if (store.GetStatistics().Condition != StoreCondition.Ok)
            {
                // A fault in the workload's last operations: one more append gives the store its chance to recover.
                await store.AppendAsync([new Reading(new SeriesKey("late", "x"), T0, 1, "u")]);
                if (store.GetStatistics().Condition != StoreCondition.Ok)
                    return "the store did not recover once the fault cleared: " + store.GetStatistics().Problem;
            }

            var statistics = store.GetStatistics();
            if (kind is DiskOp.Write or DiskOp.Sync && (statistics.LogFailures == 0 || statistics.Recoveries == 0))
                return $"a failed log {kind} did not degrade the store and let it recover";
        }

        return await CheckDurableNowAsync(disk, workload, folder + "-end");
    }

    /// <summary>Cuts the power on a copy of the disk's state (synced content only) and checks a store opened on it.</summary>
    private static async Task<string?> CheckDurableNowAsync(SimulatedDisk disk, StoreWorkload workload, string folder)
    {
        var image = disk.SnapshotSynced();
        Directory.CreateDirectory(folder);
        foreach (var (name, content) in image)
            File.WriteAllBytes(Path.Combine(folder, name), content);
        await using var reopened = ChunkedTimeSeriesStore.Open(Options(folder));
        return await workload.VerifyAsync(reopened);
    }

    [Fact]
    public async Task A_failed_log_write_undoes_the_group_so_the_resend_is_logged_not_taken_for_a_duplicate()
    {
        var folder = Path.Combine(_dir.Path, "store");
        var disk = new SimulatedDisk { SqliteFolder = folder };
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0));
        var reading = new Reading(new SeriesKey("ws1", "temperature"), T0, 21.5, "degC");
        await using var store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = folder, Files = disk, Time = time, RecoveryInterval = TimeSpan.FromSeconds(5) });

        // The log's fsync fails, and so does the one of the new log the first recovery (at once) starts.
        disk.Fail(DiskOp.Sync, disk.Count(DiskOp.Sync) + 1, count: 2, noSpace: false);
        await Assert.ThrowsAsync<StoreWriteException>(() => store.AppendAsync([reading]).AsTask());
        await WaitAsync(() => disk.Count(DiskOp.Sync) >= 2, "the first recovery");
        var degraded = store.GetStatistics();
        Assert.Equal(StoreCondition.Degraded, degraded.Condition);
        Assert.Contains("Input/output error", degraded.Problem, StringComparison.Ordinal);
        Assert.Empty(await store.ReadRangeAsync(reading.Series, 0, long.MaxValue, 10));
        Assert.False(store.TryGetSeries(reading.Series, out _));

        var refused = await Assert.ThrowsAsync<StoreWriteException>(() => store.AppendAsync([reading]).AsTask());
        Assert.Contains("no reading is acknowledged", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, disk.Count(DiskOp.Move));

        // Five seconds on, the store recovers by itself (chunk store written, a new log renamed into place).
        // The writer reads the time and then sets its timer: advanced in between, the timer lands past this fake
        // time and never fires, so the clock is nudged on a little while the recovery is awaited.
        time.Advance(TimeSpan.FromSeconds(5));
        await WaitAsync(() => store.GetStatistics().Condition == StoreCondition.Ok || Nudge(time), "the recovery");
        Assert.Equal(1, disk.Count(DiskOp.Move));
        var resent = await store.AppendAsync([reading]);
        Assert.Equal(1, resent.Inserted);

        disk.CutPower();
        var crash = Path.Combine(_dir.Path, "crash");
        disk.WriteImage(crash);
        await using var reopened = ChunkedTimeSeriesStore.Open(Options(crash));
        Assert.Equal([new DataPoint(T0, 21.5)], await reopened.ReadRangeAsync(reading.Series, 0, long.MaxValue, 10));
    }

    [Fact]
    public async Task A_checkpoint_whose_commit_fails_changes_nothing_and_the_next_one_saves_every_series()
    {
        var folder = Path.Combine(_dir.Path, "store");
        var disk = new SimulatedDisk { SqliteFolder = folder };
        var a = new SeriesKey("dev", "a");
        await using (var store = ChunkedTimeSeriesStore.Open(Options(folder, disk)))
        {
            await store.AppendAsync([new Reading(a, T0, 1, "u"), new Reading(a, T0 + 1000, 2, "u")]);
            await WaitAsync(() => disk.Count(DiskOp.IndexCommit) == 1, "the new series in the catalogue");
            disk.Fail(DiskOp.IndexCommit, 2);
            var failed = await Assert.ThrowsAsync<StoreWriteException>(store.CheckpointAsync);
            Assert.Contains("database or disk is full", failed.Message, StringComparison.Ordinal);
            Assert.Equal(StoreCondition.Ok, store.GetStatistics().Condition);
            await store.CheckpointAsync();
        }

        // Reopened with nothing left in the log: the series and its chunk come from the chunk store alone.
        await using var reopened = ChunkedTimeSeriesStore.Open(Options(folder));
        Assert.Equal([new DataPoint(T0, 1), new DataPoint(T0 + 1000, 2)], await reopened.ReadRangeAsync(a, 0, long.MaxValue, 10));
        Assert.True(reopened.TryGetSeries(a, out var info));
        Assert.Equal(2, info.PointCount);
        await reopened.AppendAsync([new Reading(new SeriesKey("dev", "b"), T0, 5, "u")]);
        Assert.Equal([new DataPoint(T0, 5)], await reopened.ReadRangeAsync(new SeriesKey("dev", "b"), 0, long.MaxValue, 10));
        Assert.Equal(2, reopened.ListSeries().Count);
    }

    [Fact]
    public async Task Records_after_a_damaged_one_are_replayed_and_the_damaged_bytes_are_kept_beside_the_log()
    {
        var folder = Path.Combine(_dir.Path, "store");
        var disk = new SimulatedDisk { SqliteFolder = folder, TearWrites = false };
        var x = new SeriesKey("dev", "x");
        await using (var store = ChunkedTimeSeriesStore.Open(Options(folder, disk)))
        {
            for (var i = 0; i < 5; i++)
                await store.AppendAsync([new Reading(x, T0 + i * 1000, i, "u"), new Reading(new SeriesKey("dev", "y" + i), T0, i, "u")]);
            disk.CutPower();
        }

        var crash = Path.Combine(_dir.Path, "crash");
        disk.WriteImage(crash);
        var log = Path.Combine(crash, "chunks.wal");
        var bytes = File.ReadAllBytes(log);
        var records = RecordStarts(bytes);
        Assert.Equal(6, records.Count); // five records and the end

        // Garbage over the middle of the third record (its header stays: its checksum fails).
        var damagedStart = records[2];
        var damagedLength = records[3] - records[2];
        bytes[damagedStart + 14] ^= 0x5A;
        File.WriteAllBytes(log, bytes);

        await using var reopened = ChunkedTimeSeriesStore.Open(Options(crash));
        Assert.Equal([0.0, 1, 3, 4], (await reopened.ReadRangeAsync(x, 0, long.MaxValue, 10)).Select(p => p.Value));
        Assert.True(reopened.TryGetSeries(new SeriesKey("dev", "y4"), out _));
        Assert.Empty(await reopened.ReadRangeAsync(new SeriesKey("dev", "y2"), 0, long.MaxValue, 10));
        var quarantined = Assert.Single(Directory.GetFiles(crash, "chunks.wal.damaged-*"));
        Assert.EndsWith($"-at-{damagedStart}", quarantined, StringComparison.Ordinal);
        Assert.Equal(bytes.AsSpan(damagedStart, damagedLength).ToArray(), File.ReadAllBytes(quarantined));
        Assert.Equal(0, new FileInfo(log).Length);
    }

    [Fact]
    public async Task A_log_of_the_earlier_format_is_replayed_up_to_its_damage_and_the_rest_is_quarantined()
    {
        var folder = Path.Combine(_dir.Path, "old");
        Directory.CreateDirectory(folder);
        var first = OldRecord(fresh: [("dev", "t", "degC")], [(0, T0, 20.5), (0, T0 + 1000, 21.0)]);
        var second = OldRecord(fresh: [("dev", "h", "%")], [(1, T0, 50), (0, T0 + 2000, 21.5)]);
        var third = OldRecord(fresh: [], [(1, T0 + 1000, 51)]);
        second[10] ^= 0xFF; // damaged: the third depends on it (series numbers), so it cannot be read safely
        File.WriteAllBytes(Path.Combine(folder, "chunks.wal"), [.. first, .. second, .. third]);

        await using var store = ChunkedTimeSeriesStore.Open(Options(folder));
        Assert.Equal([new DataPoint(T0, 20.5), new DataPoint(T0 + 1000, 21.0)], await store.ReadRangeAsync(new SeriesKey("dev", "t"), 0, long.MaxValue, 10));
        Assert.False(store.TryGetSeries(new SeriesKey("dev", "h"), out _));
        var quarantined = Assert.Single(Directory.GetFiles(folder, "chunks.wal.damaged-*"));
        Assert.Equal([.. second, .. third], File.ReadAllBytes(quarantined));
    }

    [Fact]
    public async Task An_intact_log_of_the_earlier_format_is_replayed_whole()
    {
        var folder = Path.Combine(_dir.Path, "old");
        Directory.CreateDirectory(folder);
        var first = OldRecord(fresh: [("dev", "t", "degC")], [(0, T0, 20.5)]);
        var second = OldRecord(fresh: [("dev", "h", "%")], [(1, T0, 50), (0, T0 + 2000, 21.5)]);
        File.WriteAllBytes(Path.Combine(folder, "chunks.wal"), [.. first, .. second]);

        await using var store = ChunkedTimeSeriesStore.Open(Options(folder));
        Assert.Equal([new DataPoint(T0, 20.5), new DataPoint(T0 + 2000, 21.5)], await store.ReadRangeAsync(new SeriesKey("dev", "t"), 0, long.MaxValue, 10));
        Assert.Equal([new DataPoint(T0, 50)], await store.ReadRangeAsync(new SeriesKey("dev", "h"), 0, long.MaxValue, 10));
        Assert.Empty(Directory.GetFiles(folder, "chunks.wal.damaged-*"));
    }

    [Fact]
    public async Task An_unexpected_error_in_the_writer_fails_every_pending_append_and_faults_the_store()
    {
        var folder = Path.Combine(_dir.Path, "store");
        var files = new BrokenFiles();
        var store = ChunkedTimeSeriesStore.Open(Options(folder, files));
        try
        {
            await store.AppendAsync([new Reading(new SeriesKey("dev", "x"), T0, 1, "u")]);
            files.Broken = true;
            var failed = await Assert.ThrowsAsync<StoreWriteException>(() => store.AppendAsync([new Reading(new SeriesKey("dev", "x"), T0 + 1000, 2, "u")]).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.IsType<InvalidOperationException>(failed.InnerException);
            var cause = await store.Faulted.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.IsType<InvalidOperationException>(cause);
            Assert.Equal(StoreCondition.Faulted, store.GetStatistics().Condition);
            Assert.Contains("restart", store.GetStatistics().Problem, StringComparison.Ordinal);
            await Assert.ThrowsAsync<StoreWriteException>(() => store.AppendAsync([new Reading(new SeriesKey("dev", "x"), T0 + 2000, 3, "u")]).AsTask());
        }
        finally
        {
            await store.DisposeAsync();
        }

        await using var reopened = ChunkedTimeSeriesStore.Open(Options(folder));
        // What was acknowledged is in the log and comes back (the failed append's record may too: it was written).
        var points = await reopened.ReadRangeAsync(new SeriesKey("dev", "x"), 0, long.MaxValue, 10);
        Assert.Contains(new DataPoint(T0, 1), points);
        Assert.DoesNotContain(points, p => p.TimestampMs == T0 + 2000);
    }

    [Fact]
    public void Retention_patterns_match_without_backtracking_whatever_the_series_id()
    {
        // With backtracking (and its match timeout) this id made the match throw, which ended the store's writer.
        var rule = new RetentionRule("*a*a*a*a*a*a*a*a*a*a*b", TimeSpan.FromDays(1), null, null);
        Assert.False(rule.Matches(new string('a', 5000)));
        Assert.True(rule.Matches("xaaaaaaaaaab"));
        Assert.True(new RetentionRule("demo-*/*", null, null, null).Matches("demo-1/temperature"));
        Assert.False(new RetentionRule("demo-*/*", null, null, null).Matches("ws1/temperature"));
    }

    private static bool Nudge(Microsoft.Extensions.Time.Testing.FakeTimeProvider time)
    {
        time.Advance(TimeSpan.FromMilliseconds(1));
        return false;
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(5);
        }
    }

    /// <summary>Where each record of a log in this format starts (and, last, its end).</summary>
    private static List<int> RecordStarts(byte[] log)
    {
        var starts = new List<int>();
        for (var at = 0; at < log.Length; at += 12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(log.AsSpan(at + 4)))
            starts.Add(at);
        starts.Add(log.Length);
        return starts;
    }

    /// <summary>A record as the earlier format wrote it: [length][crc32][new series][readings with raw values].</summary>
    private static byte[] OldRecord((string Device, string Metric, string Unit)[] fresh, (int Number, long T, double Value)[] readings)
    {
        using var payload = new MemoryStream();
        using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write7BitEncodedInt(fresh.Length);
            foreach (var (device, metric, unit) in fresh)
            {
                writer.Write(device);
                writer.Write(metric);
                writer.Write(unit);
            }

            writer.Write7BitEncodedInt(readings.Length);
            writer.Write7BitEncodedInt64(readings[0].T);
            foreach (var (number, t, value) in readings)
            {
                writer.Write7BitEncodedInt(number);
                writer.Write7BitEncodedInt64((long)Compression.BitWriter.ZigZag(t - readings[0].T));
                writer.Write((byte)0xFF);
                writer.Write(value);
            }
        }

        var body = payload.ToArray();
        var record = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32.HashToUInt32(body));
        body.CopyTo(record, 8);
        return record;
    }

    /// <summary>Real files whose fsync throws something no disk error is, once <see cref="Broken"/>.</summary>
    private sealed class BrokenFiles : StoreFiles
    {
        public volatile bool Broken;

        public override IStoreFile Open(string path, bool truncate = false) => new File(this, base.Open(path, truncate));

        private sealed class File(BrokenFiles owner, IStoreFile inner) : IStoreFile
        {
            public long Length => inner.Length;

            public int Read(Span<byte> buffer, long offset) => inner.Read(buffer, offset);

            public void Write(ReadOnlySpan<byte> data, long offset) => inner.Write(data, offset);

            public void SetLength(long length) => inner.SetLength(length);

            public void Sync()
            {
                if (owner.Broken)
                    throw new InvalidOperationException("a bug below the log");
                inner.Sync();
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
