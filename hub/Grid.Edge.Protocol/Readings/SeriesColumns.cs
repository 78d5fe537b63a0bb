namespace Grid.Edge.Protocol.Readings;

/// <summary>
/// Points of one series as two columns of the same length: times (Unix ms) and values in <paramref name="Unit"/>.
/// What a bulk upload or a backfill carries without an object per point.
/// </summary>
public sealed record SeriesColumns(SeriesKey Series, string Unit, long[] Times, double[] Values)
{
    public int Count => Times.Length;
}
