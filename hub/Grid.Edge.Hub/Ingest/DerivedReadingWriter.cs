using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>
/// Stores readings the hub works out itself (derived weather, vehicle bookkeeping) and passes what was new on to the
/// live feed and the alerts, as ingest does for devices' readings. Derived readings are not derived from again.
/// </summary>
public sealed class DerivedReadingWriter(ITimeSeriesStore store, DeviceQuotas quotas, LiveFeed live, Alerts.AlertService alerts)
{
    /// <summary>Stores <paramref name="readings"/>; returns how many were new or changed.</summary>
    /// <exception cref="StoreWriteException">The store could not write them.</exception>
    public async Task<int> AppendAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken = default)
    {
        if (readings.Count == 0)
            return 0;
        quotas.Note(readings);
        var result = await store.AppendAsync(readings, cancellationToken);
        if (result.Stored.Count > 0)
        {
            live.Publish(result.Stored);
            alerts.Observe(result.Stored);
        }

        return result.Stored.Count;
    }
}
