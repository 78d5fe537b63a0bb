namespace Grid.Edge.Agent.Outbox;

/// <summary>A reading as the agent keeps it until the hub has it: metric, value, declared unit, and when it was taken.</summary>
public readonly record struct OutboxReading(string Metric, double Value, string Unit, long TimestampMs);

/// <summary>A reading in the outbox with its position (ids grow with insertion, so oldest first is id order).</summary>
public readonly record struct StoredReading(long Id, OutboxReading Reading);
