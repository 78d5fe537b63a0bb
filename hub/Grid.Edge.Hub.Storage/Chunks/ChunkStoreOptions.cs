namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>Settings of the chunked store; the defaults suit a Raspberry Pi on an SD card.</summary>
public sealed class ChunkStoreOptions
{
    /// <summary>Folder of the store (<c>chunks.db</c> and <c>chunks.wal</c>); created when missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Raw chunks cover aligned buckets of this length (also the unit of retention and of re-encoding late data).</summary>
    public TimeSpan BucketDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Most points in one chunk: a bucket of a fast series is split into parts of at most this many (36,000 is an
    /// hour at 10 Hz), so no chunk grows without bound.
    /// </summary>
    public int MaxChunkPoints { get; init; } = 36_000;

    /// <summary>How often buffered chunks are written to the chunk store and the log emptied.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>A checkpoint also happens when the log grows past this many bytes.</summary>
    public long CheckpointLogBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>
    /// A checkpoint also happens once this many points were written since the last one: points waiting for their
    /// checkpoint are held uncompressed in memory, so this bounds the memory a fast backfill takes.
    /// </summary>
    public long CheckpointPoints { get; init; } = 1_000_000;

    /// <summary>
    /// When checkpoints let go of at least this many buffered points (a backfill went through), the store has the
    /// runtime compact its heap and return the freed memory to the system, once appends have paused for a second
    /// (compacting during the backfill would only slow it: the memory is needed again at once); 0 never does.
    /// </summary>
    public long ReturnMemoryAfterPoints { get; init; } = 100_000;

    /// <summary>Upper bound of readings in one group commit.</summary>
    public int MaxReadingsPerCommit { get; init; } = 50_000;

    /// <summary>Extra time the writer lingers for more appends before syncing the log.</summary>
    public TimeSpan CommitDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Retention rules, first match wins; series that match none use <see cref="RetentionRule.Default"/>.</summary>
    public IReadOnlyList<RetentionRule> Retention { get; init; } = [];

    /// <summary>When set, the oldest raw chunks are dropped to keep the store under this size (rollups stay: they are small).</summary>
    public long? DiskBudgetBytes { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// After a write or fsync of the log failed, how often the store tries to recover (write what memory holds to the
    /// chunk store and start a new log); until then it acknowledges nothing. The first try is at the next append.
    /// </summary>
    public TimeSpan RecoveryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The file operations under the log (a seam for fault injection and power-cut tests).</summary>
    internal StoreFiles Files { get; init; } = StoreFiles.Real;

    /// <summary>
    /// The name this store stamps its writes with; unique in the grid (the hub sets its hub id). Without one, a name
    /// is made up when the store is created and kept in it; a store with a made-up name takes the first name given
    /// later for its own points, since nothing left the store under the made-up one.
    /// </summary>
    public string? Origin { get; init; }

    /// <summary>
    /// The clock that stamps corrections and takes in other hubs' stamps. By default one kept in
    /// <see cref="ClockPath"/>, so that its stamps never go back across a reboot, even on a board without a real-time
    /// clock; give one to share it with replication, which bounds peers' stamps with it.
    /// </summary>
    public Versions.HybridLogicalClock? Clock { get; init; }

    public string ClockPath => Path.Combine(DataDirectory, "clock");

    public string DatabasePath => Path.Combine(DataDirectory, "chunks.db");

    public string LogPath => Path.Combine(DataDirectory, "chunks.wal");
}

/// <summary>How long each tier of the series matching <see cref="Pattern"/> is kept; null keeps forever.</summary>
/// <param name="Pattern">A series id pattern: <c>*</c> matches any characters (e.g. <c>demo-*/*</c>, <c>*/temperature</c>).</param>
public sealed record RetentionRule(string Pattern, TimeSpan? Raw, TimeSpan? Minute, TimeSpan? Hour)
{
    public static readonly RetentionRule Default = new("*", TimeSpan.FromDays(90), TimeSpan.FromDays(730), null);

    public bool Matches(string seriesId) => Grid.Edge.Protocol.Readings.SeriesPattern.Matches(Pattern, seriesId);
}
