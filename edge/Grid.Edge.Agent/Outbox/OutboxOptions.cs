namespace Grid.Edge.Agent.Outbox;

/// <summary>Bounds of the outbox: what an outage of the hub may cost in disk, and how fast the backlog is sent.</summary>
public sealed class OutboxOptions
{
    /// <summary>Most readings kept; beyond it the oldest are dropped (and counted).</summary>
    public long MaxReadings { get; set; } = 2_000_000;

    /// <summary>Readings older than this are dropped (and counted): the hub would keep them only so long anyway.</summary>
    public double MaxAgeDays { get; set; } = 30;

    /// <summary>Readings per MQTT message.</summary>
    public int BatchReadings { get; set; } = 500;

    /// <summary>Largest MQTT payload sent; keep it under the hub's --max-payload-bytes (65536 by default).</summary>
    public int MaxBatchBytes { get; set; } = 60_000;

    /// <summary>
    /// Send readings as binary columns messages (<c>grid/&lt;device&gt;/columns</c>, about 10 bytes a reading instead
    /// of 40 of JSON); the agent falls back to JSON batches by itself when the hub refuses one whole.
    /// </summary>
    public bool Columns { get; set; } = true;

    /// <summary>Backfill pace after an outage, so the hub and the link are not flooded.</summary>
    public int BackfillReadingsPerSecond { get; set; } = 5000;

    public string Validate()
    {
        if (MaxReadings < 1000)
            return "Outbox:MaxReadings must be at least 1000";
        if (MaxAgeDays <= 0)
            return "Outbox:MaxAgeDays must be positive";
        if (BatchReadings is < 1 or > 10_000)
            return "Outbox:BatchReadings must be 1 to 10000 (the hub's default batch limit)";
        if (MaxBatchBytes is < 1024 or > 16 * 1024 * 1024)
            return "Outbox:MaxBatchBytes must be 1024 to 16777216 (and under the hub's --max-payload-bytes)";
        if (BackfillReadingsPerSecond < BatchReadings)
            return "Outbox:BackfillReadingsPerSecond must be at least Outbox:BatchReadings";
        return string.Empty;
    }
}
