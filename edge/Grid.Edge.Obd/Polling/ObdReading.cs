namespace Grid.Edge.Obd.Polling;

/// <summary>A value read from the vehicle, stamped when it was read, named by the hub's metric catalogue.</summary>
public readonly record struct ObdReading(string Metric, double Value, string Unit, long TimestampMs);
