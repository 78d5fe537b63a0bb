using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>Where the readings of an append come from, which decides how their write stamps are set.</summary>
internal enum AppendKind
{
    /// <summary>Written here: a new point gets its first-write stamp, a changed value a new clock value.</summary>
    Local,

    /// <summary>Written elsewhere with its stamp: kept only if it wins over what is stored.</summary>
    Merge,

    /// <summary>From the log at start: the winners of before, put back as they were.</summary>
    Replay,
}

/// <summary>One call of the store waiting for the writer: its readings or columns, or a checkpoint asked for, and the task its caller awaits.</summary>
internal sealed class PendingAppend(IReadOnlyList<Reading> readings, AppendKind kind)
{
    /// <summary>A copy in an array: the writer's loops then index it directly, not through an interface.</summary>
    public Reading[] Readings { get; } = readings as Reading[] ?? [.. readings];

    /// <summary>The series of each reading as found before applying the group (null: new).</summary>
    public SeriesState?[]? States { get; set; }

    public AppendKind Kind { get; } = kind;

    /// <summary>For merges and replays: each reading's stamp (null in a replay: a first write of this store).</summary>
    public List<WriteStamp?>? Stamps { get; init; }

    public bool CheckpointRequest { get; init; }

    /// <summary>Points given as columns, per series (applied after <see cref="Readings"/>).</summary>
    public SeriesColumns[]? Columns { get; init; }

    public SeriesState?[]? ColumnStates { get; set; }

    public ColumnsAppendResult? ColumnsResult { get; set; }

    public int PointCount => Readings.Length + (Columns?.Sum(c => c.Count) ?? 0);

    public TaskCompletionSource<AppendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What a group changed in memory, to be put back when its log record does not become durable.</summary>
internal sealed class GroupUndo
{
    /// <summary>Each put, in order: the buffer, the time, and what was there before.</summary>
    public List<(BucketBuffer Buffer, long T, bool Existed, double Value, PointStamp Stamp)> Points { get; } = [];

    /// <summary>Each buffer's flags before its first put of the group.</summary>
    public Dictionary<BucketBuffer, (bool Dirty, int UsualOrigin)> Buffers { get; } = [];

    public List<(SeriesState State, long Start, BucketBuffer Buffer)> CreatedBuckets { get; } = [];

    public List<SeriesState> CreatedSeries { get; } = [];

    /// <summary>Series with changes not yet published.</summary>
    public List<SeriesState> Touched { get; } = [];

    public long PointsSinceCheckpoint { get; set; }

    public void Clear()
    {
        Points.Clear();
        Buffers.Clear();
        CreatedBuckets.Clear();
        CreatedSeries.Clear();
        Touched.Clear();
    }
}
