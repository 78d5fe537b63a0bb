using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Readings;

/// <summary>
/// Readings now durable in the store (new points, or changed values), as <see cref="ReadingWriter.Stored"/> hands
/// them to its handlers. Readings are listed in the order they were given. A bulk upload keeps its columns, so a
/// handler that wants a few metrics looks at series, not at every point (<see cref="Of"/>).
/// </summary>
internal sealed class ReadingsStored
{
    private readonly IReadOnlyList<SeriesColumns>? _columns;
    private IReadOnlyList<Reading>? _readings;

    internal ReadingsStored(ReadingOrigin origin, IReadOnlyList<Reading> readings)
    {
        Origin = origin;
        _readings = readings;
    }

    internal ReadingsStored(ReadingOrigin origin, IReadOnlyList<SeriesColumns> columns)
    {
        Origin = origin;
        _columns = columns;
    }

    public ReadingOrigin Origin { get; }

    /// <summary>
    /// Stored readings of this hub's own writes that changed a stored value, with the clock value they were stamped
    /// with; every other reading carries its first write's stamp (what replication needs to send the same stamps on).
    /// </summary>
    public IReadOnlyList<Storage.ColumnCorrection> Corrections { get; init; } = [];

    /// <summary>Every stored reading (a view over the columns when they came as columns: no copy).</summary>
    public IReadOnlyList<Reading> Readings => _readings ??= new ColumnReadings(_columns!);

    /// <summary>The stored readings of the series whose metric is in <paramref name="metrics"/> (empty when none).</summary>
    public IReadOnlyList<Reading> Of(IReadOnlySet<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (_columns is not null)
        {
            List<SeriesColumns>? wanted = null;
            foreach (var series in _columns)
            {
                if (metrics.Contains(series.Series.Metric))
                    (wanted ??= []).Add(series);
            }

            return wanted is null ? [] : new ColumnReadings(wanted);
        }

        List<Reading>? readings = null;
        foreach (var reading in _readings!)
        {
            if (metrics.Contains(reading.Series.Metric))
                (readings ??= []).Add(reading);
        }

        return readings ?? (IReadOnlyList<Reading>)[];
    }

    /// <summary>
    /// The last stored reading of each series for columns, every reading otherwise: enough to tell which series and
    /// devices changed without walking a bulk upload point by point.
    /// </summary>
    public IReadOnlyList<Reading> Latest()
    {
        if (_columns is null)
            return _readings!;
        var latest = new List<Reading>(_columns.Count);
        foreach (var series in _columns)
        {
            if (series.Count > 0)
                latest.Add(new Reading(series.Series, series.Times[^1], series.Values[^1], series.Unit));
        }

        return latest;
    }
}
