namespace Grid.Edge.Protocol.Readings;

/// <summary>
/// One validated reading: a finite value in the series' canonical unit at a Unix time in milliseconds.
/// </summary>
public readonly record struct Reading(SeriesKey Series, long TimestampMs, double Value, string Unit)
{
    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(TimestampMs);
}
