namespace Grid.Edge.Hub.Api;

internal sealed record ErrorResponse(string Error);

/// <summary>What /api/health tells a caller that may not read: whether the hub is up.</summary>
internal sealed record PublicHealthResponse(string Status, string Version, double UptimeSeconds);

internal sealed record HealthResponse(
    string Status,
    string Version,
    double UptimeSeconds,
    MqttHealth Mqtt,
    StoreHealth Store,
    IngestHealth Ingest,
    int LiveListeners,
    DerivedHealth Derived)
{
    public MemoryHealth? Memory { get; init; }

    /// <summary>Why <see cref="Status"/> is not "ok" (e.g. the store acknowledges nothing while its log cannot be written); null when it is.</summary>
    public string? Problem { get; init; }

    /// <summary>Live listeners dropped since start because they fell behind (stopped reading).</summary>
    public long LiveListenersDropped { get; init; }

    /// <summary>Live listeners refused since start: over the hub's cap or one address's.</summary>
    public long LiveListenersRefused { get; init; }
}

/// <summary>The hub process's memory in MiB: resident set, managed heap in use and committed by the runtime.</summary>
internal sealed record MemoryHealth(double ResidentMb, double ManagedHeapMb, double ManagedCommittedMb);

/// <summary>
/// Derived weather: readings derived, inputs waiting (a backfill being worked through), inputs skipped because
/// derivation fell too far behind, rain counter jumps refused.
/// </summary>
internal sealed record DerivedHealth(long Readings, int PendingInputs, long SkippedInputs, long ImplausibleRainSteps);

internal sealed record MqttHealth(string? Endpoint, int Clients, long ClientProtocolErrors)
{
    /// <summary>CONNECTs refused: bad credentials, reserved or foreign client ids, takeovers, wills not allowed.</summary>
    public long RefusedConnects { get; init; }

    /// <summary>CONNECTs refused without a look because their address was backing off after refusals.</summary>
    public long ThrottledConnects { get; init; }

    public int RetainedMessages { get; init; }

    /// <summary>Retained messages refused for their size or because the broker keeps as many as allowed.</summary>
    public long RetainedRefused { get; init; }
}

internal sealed record StoreHealth(int Series, long Points, long BytesOnDisk, long Commits, string DataDir)
{
    /// <summary>ok, degraded (a log write failed: nothing is acknowledged until the store recovers, which it tries by itself) or faulted (the hub restarts).</summary>
    public string State { get; init; } = "ok";

    public string? Problem { get; init; }

    /// <summary>Log writes or fsyncs that failed since the start, and recoveries from them.</summary>
    public long LogFailures { get; init; }

    public long Recoveries { get; init; }
}

internal sealed record IngestHealth(long Messages, long ReadingsStored, long Duplicates, long ReadingsRejected)
{
    /// <summary>Messages taken in and not yet stored (at most --ingest-queue), and how often a connection had to wait for room.</summary>
    public int Queued { get; init; }

    public long QueueWaits { get; init; }
}

internal sealed record LatestPoint(long T, double V, DateTimeOffset Time);

internal sealed record SeriesResponse(string Id, string Device, string Metric, string Unit, LatestPoint Latest, long Count, long FirstT, long? IntervalMs);

internal sealed record PointsResponse(
    string Series,
    string Unit,
    long From,
    long To,
    long? Step,
    string? Agg,
    bool Truncated,
    IReadOnlyList<double[]> Points);

internal sealed record DeviceResponse(string Device, string? Status, DateTimeOffset? StatusSince, DateTimeOffset? LastSeen, long ReadingsAccepted, long Rejections, Grid.Edge.Protocol.Readings.AgentReport? Agent = null, DateTimeOffset? AgentReportedAt = null);

internal sealed record RejectionCount(string Device, string Reason, long Count);

internal sealed record RejectionsResponse(long Total, IReadOnlyList<RejectionCount> Counts, IReadOnlyList<Ingest.RejectionRecord> Recent);

internal sealed record LiveReading(string Series, string Device, string Metric, long T, double V, string Unit);

internal sealed record SummaryResponse(string Series, string Unit, long From, long To, long Count, double? Min, double? Max, double? Mean, double? Sum);

internal sealed record StorageResponse(
    long Points,
    long BytesOnDisk,
    double BytesOnDiskPerPoint,
    long ReadingsAppended,
    long LogBytesWritten,
    long ChunkBytesWritten,
    long? ProcessBytesWritten,
    double? BytesWrittenPerReading,
    long Checkpoints,
    DateTimeOffset? LastCheckpoint,
    long LogBytes,
    int BufferedBuckets,
    int DirtyBuckets,
    long DroppedChunks,
    long DroppedPoints,
    IReadOnlyList<RetentionResponse> Retention,
    IReadOnlyList<SeriesStorageResponse> Series)
{
    /// <summary>The name this hub's store stamps its writes with (conflicting values resolve by stamp).</summary>
    public string? Origin { get; init; }

    /// <summary>Points held uncompressed in memory until the next checkpoint.</summary>
    public long OpenPoints { get; init; }
}

internal sealed record RetentionResponse(string Pattern, double? RawDays, double? MinuteDays, double? HourDays);

internal sealed record SeriesStorageResponse(string Id, long Chunks, long RawPoints, long RawBytes, double BytesPerPoint, long MinuteRollups, long HourRollups);

internal sealed record DevicePointsResponse(string Device, long From, long To, long Step, string Agg, IReadOnlyDictionary<string, IReadOnlyList<double[]>> Series);
