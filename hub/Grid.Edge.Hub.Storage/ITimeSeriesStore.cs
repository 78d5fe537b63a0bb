using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage;

/// <summary>
/// Where the hub keeps readings. Appends are durable when their task completes: a caller may acknowledge the
/// device then. The same (series, timestamp, value) stored twice is one point.
/// </summary>
public interface ITimeSeriesStore : IAsyncDisposable
{
    /// <summary>Stores <paramref name="readings"/>; completes once they are on disk (group commit).</summary>
    ValueTask<AppendResult> AppendAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores points given as columns per series (a bulk upload, a backfill); durable when the task completes, like
    /// <see cref="AppendAsync"/>, with the same rules, without a reading object per point.
    /// </summary>
    ValueTask<ColumnsAppendResult> AppendColumnsAsync(IReadOnlyList<SeriesColumns> columns, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores readings written elsewhere (another hub) with their stamps: a reading whose point holds a value with a
    /// greater stamp is superseded, not stored, so every store ends with the same value whatever the arrival order.
    /// </summary>
    ValueTask<AppendResult> MergeAsync(IReadOnlyList<Versions.StampedReading> readings, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raw points with <c>from &lt;= t &lt; to</c> in time order, at most <paramref name="limit"/>: the oldest of the
    /// range, or with <paramref name="newestFirst"/> the newest, newest first.
    /// </summary>
    ValueTask<IReadOnlyList<DataPoint>> ReadRangeAsync(SeriesKey series, long fromMs, long toMs, int limit, bool newestFirst = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// The oldest raw points with <c>from &lt;= t &lt; to</c>, at most <paramref name="limit"/>, as two columns: what
    /// a chart or a binary answer needs, without an object per point (a day of 1 Hz data is 86,400 points).
    /// </summary>
    ValueTask<PointColumns> ReadColumnsAsync(SeriesKey series, long fromMs, long toMs, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Per-bucket aggregates with <c>from &lt;= t &lt; to</c>; buckets start at multiples of <paramref name="stepMs"/>
    /// since the Unix epoch so that the same bucket reads the same from any range. Empty buckets are absent.
    /// </summary>
    ValueTask<IReadOnlyList<AggregatePoint>> ReadAggregatedAsync(SeriesKey series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default);

    /// <summary>The same for several series at once (a device's page, a dashboard), in one pass over the store.</summary>
    ValueTask<IReadOnlyDictionary<SeriesKey, IReadOnlyList<AggregatePoint>>> ReadAggregatedAsync(IReadOnlyList<SeriesKey> series, long fromMs, long toMs, long stepMs, CancellationToken cancellationToken = default);

    /// <summary>All series, with their latest point and count.</summary>
    IReadOnlyList<SeriesInfo> ListSeries();

    bool TryGetSeries(SeriesKey series, out SeriesInfo info);

    StoreStatistics GetStatistics();
}

/// <summary>One stored point.</summary>
public readonly record struct DataPoint(long TimestampMs, double Value);

/// <summary>Points as columns: times (Unix ms, ascending) and values of the same length.</summary>
public sealed record PointColumns(long[] Times, double[] Values)
{
    public static readonly PointColumns Empty = new([], []);

    public int Count => Times.Length;
}

/// <summary>The aggregates of one bucket.</summary>
public readonly record struct AggregatePoint(long BucketStartMs, long Count, double Sum, double Min, double Max)
{
    public double Mean => Sum / Count;
}

/// <summary>A series as the catalogue knows it.</summary>
public sealed record SeriesInfo(SeriesKey Key, string Unit, long PointCount, long FirstMs, long LatestMs, double LatestValue);

/// <summary>What an append did.</summary>
/// <param name="Stored">Readings that are new or changed a stored value, in input order.</param>
/// <param name="Duplicates">Readings identical to a stored point: nothing was written for them.</param>
/// <param name="UnitConflicts">Readings refused because their series is stored in another unit.</param>
public sealed record AppendResult(IReadOnlyList<Reading> Stored, int Inserted, int Updated, int Duplicates, IReadOnlyList<Reading> UnitConflicts)
{
    public static readonly AppendResult Empty = new([], 0, 0, 0, []);

    /// <summary>Merged readings that lost to a value with a greater stamp already stored.</summary>
    public int Superseded { get; init; }

    /// <summary>
    /// Stored readings of a local append that changed a stored value, with the clock value they were stamped with;
    /// every other stored reading of a local append carries its first write's stamp (replication sends both on).
    /// </summary>
    public IReadOnlyList<StoredCorrection> Corrections { get; init; } = [];
}

/// <summary>A stored reading (by its index in <see cref="AppendResult.Stored"/>) that corrected a value, and its stamp's clock value.</summary>
public readonly record struct StoredCorrection(int Index, long Hlc);

/// <summary>A point of a columns append that corrected a stored value, and its stamp's clock value.</summary>
public readonly record struct ColumnCorrection(SeriesKey Series, long TimestampMs, long Hlc);

/// <summary>What an append of columns did.</summary>
/// <param name="Stored">Points that are new or changed a stored value, per series (the given columns when all were).</param>
/// <param name="UnitConflicts">Series refused whole because they are stored in another unit.</param>
public sealed record ColumnsAppendResult(IReadOnlyList<SeriesColumns> Stored, int Inserted, int Updated, int Duplicates, IReadOnlyList<SeriesColumns> UnitConflicts)
{
    public static readonly ColumnsAppendResult Empty = new([], 0, 0, 0, []);

    /// <summary>Stored points that changed a stored value, with their stamps' clock values (the others carry their first write's).</summary>
    public IReadOnlyList<ColumnCorrection> Corrections { get; init; } = [];
}

/// <summary>Store-wide figures for health and benchmarks.</summary>
public sealed record StoreStatistics(int SeriesCount, long PointCount, long BytesOnDisk, long Commits, long ReadingsAppended)
{
    /// <summary>Bytes appended to the write-ahead log since the store opened.</summary>
    public long LogBytesWritten { get; init; }

    /// <summary>Compressed chunk and rollup bytes written (new parts, and buckets written whole: late data, joined parts).</summary>
    public long ChunkBytesWritten { get; init; }

    public long Checkpoints { get; init; }

    /// <summary>Chunks and points dropped by retention or the disk budget since the store opened.</summary>
    public long DroppedChunks { get; init; }

    public long DroppedPoints { get; init; }

    /// <summary>Buckets held in memory, and how many of those are not yet in the chunk store.</summary>
    public int BufferedBuckets { get; init; }

    public int DirtyBuckets { get; init; }

    /// <summary>Points held uncompressed in memory (written since the last checkpoint, or opened up by late data).</summary>
    public long OpenPoints { get; init; }

    /// <summary>Current size of the write-ahead log (emptied by each checkpoint).</summary>
    public long LogBytes { get; init; }

    public DateTimeOffset? LastCheckpoint { get; init; }

    /// <summary>Writes or fsyncs of the log that failed since the store opened, and recoveries from them.</summary>
    public long LogFailures { get; init; }

    public long Recoveries { get; init; }

    /// <summary>Whether the store acknowledges appends; see <see cref="Problem"/> when it does not.</summary>
    public StoreCondition Condition { get; init; }

    /// <summary>Why the store is not <see cref="StoreCondition.Ok"/>, and what it does about it; null when it is.</summary>
    public string? Problem { get; init; }
}

/// <summary>Whether a store takes and acknowledges appends.</summary>
public enum StoreCondition
{
    Ok,

    /// <summary>A write to the disk failed: nothing is acknowledged until the store has recovered, which it tries by itself.</summary>
    Degraded,

    /// <summary>The store stopped on an unexpected error: nothing is acknowledged until the process starts again.</summary>
    Faulted,
}
