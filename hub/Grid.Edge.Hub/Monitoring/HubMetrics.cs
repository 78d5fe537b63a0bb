using System.Diagnostics.Metrics;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Storage;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Monitoring;

/// <summary>
/// The hub's state as <see cref="System.Diagnostics.Metrics"/> instruments, read from the services that keep it
/// when a scrape asks (nothing is counted twice, nothing costs while nobody scrapes): ingest, rejections by reason,
/// the store, MQTT connections, live-stream listeners, per export its lag, and per grid peer its state and lag. Exported in the
/// Prometheus text format on <c>/metrics</c>. prometheus-net's adapter exports what the services count as gauges
/// (it is handed totals, not increments), so their names carry no <c>_total</c>.
/// </summary>
internal sealed class HubMetrics : IDisposable
{
    public const string MeterName = "grid_edge"; // prometheus-net puts the meter's name in front of each instrument's

    private readonly Meter _meter = new(MeterName);

    /// <summary>This hub's instruments (each hub has its own meter, so hubs in one process are told apart).</summary>
    public Meter Meter => _meter;
    private readonly MqttServer _mqtt;
    private readonly Snapshot<StoreStatistics> _store;
    private readonly Snapshot<GridLinksView> _grid;
    private readonly Snapshot<IReadOnlyList<Exports.ExportState>> _exports;
    private long _mqttConnections;

    public HubMetrics(IngestService ingest, RejectionLog rejections, ITimeSeriesStore store, LiveFeed live, MqttServer mqtt, GridReplicator grid, Exports.ExportService exports)
    {
        _mqtt = mqtt;

        // One scrape reads each instrument in turn: the store's statistics (a walk of its series), the grid's links
        // and the exports' states are taken once per scrape, not once per instrument.
        _store = new(store.GetStatistics);
        _grid = new(grid.Links);
        _exports = new(() => [.. exports.Workers.Select(w => w.State())]);
        mqtt.ClientConnectedAsync += OnConnected;
        mqtt.ClientDisconnectedAsync += OnDisconnected;

        _meter.CreateObservableCounter("ingest_messages", () => ingest.Messages, description: "MQTT and HTTP messages of readings taken in");
        _meter.CreateObservableCounter("ingest_readings_stored", () => ingest.ReadingsStored, description: "Readings stored from this hub's devices");
        _meter.CreateObservableCounter("ingest_readings_duplicate", () => ingest.Duplicates, description: "Readings that were already stored with the same value");
        _meter.CreateObservableCounter("ingest_readings_rejected", () => rejections.Counts()
            .GroupBy(c => c.Reason, StringComparer.Ordinal)
            .Select(g => new Measurement<long>(g.Sum(c => c.Count), new KeyValuePair<string, object?>("reason", g.Key))), description: "Readings refused, by reason");
        _meter.CreateObservableGauge("ingest_queued_messages", () => ingest.Queued, description: "Messages waiting to be stored");

        _meter.CreateObservableGauge("store_series", () => _store.Value.SeriesCount, description: "Series in the store");
        _meter.CreateObservableGauge("store_points", () => _store.Value.PointCount, description: "Points in the store");
        _meter.CreateObservableGauge("store_disk_bytes", () => _store.Value.BytesOnDisk, "By", "Bytes the store takes on disk");
        _meter.CreateObservableCounter("store_log_written_bytes", () => _store.Value.LogBytesWritten, "By", "Bytes appended to the write-ahead log since the hub started");
        _meter.CreateObservableCounter("store_chunks_written_bytes", () => _store.Value.ChunkBytesWritten, "By", "Compressed chunk bytes written since the hub started");
        _meter.CreateObservableCounter("store_checkpoints", () => _store.Value.Checkpoints, description: "Checkpoints since the hub started");

        _meter.CreateObservableGauge("mqtt_connections", () => Interlocked.Read(ref _mqttConnections), description: "MQTT clients connected");
        _meter.CreateObservableGauge("live_listeners", () => live.ListenerCount, description: "Open live streams (Server-Sent Events)");
        _meter.CreateObservableCounter("live_listeners_dropped", () => live.ListenersDropped, description: "Live streams closed because their reader fell behind");

        _meter.CreateObservableCounter("grid_deltas_authored", () => _grid.Value.DeltasAuthored, description: "Deltas this hub signed");
        _meter.CreateObservableCounter("grid_deltas_applied", () => _grid.Value.DeltasApplied, description: "Deltas of other hubs applied here");
        _meter.CreateObservableCounter("grid_deltas_refused", () => _grid.Value.Refusals
            .Select(r => new Measurement<long>(r.Value, new KeyValuePair<string, object?>("reason", r.Key))), description: "Deltas and messages from peers refused, by reason");
        _meter.CreateObservableGauge("grid_peer_up", () => Peers(_grid.Value, p => p.State == "up" ? 1 : 0), description: "1 while the link to the peer is up");
        _meter.CreateObservableGauge("grid_peer_behind_points", () => Peers(_grid.Value, p => p.PointsBehind ?? 0), description: "Points this hub holds that the peer lacked at its last vector");
        _meter.CreateObservableGauge("grid_peer_behind_seconds", () => Peers(_grid.Value, p => (p.BehindMs ?? 0) / 1000.0), "s", "How far back the oldest point the peer lacks lies");
        _meter.CreateObservableCounter("grid_peer_received_bytes", () => Peers(_grid.Value, p => p.BytesIn), "By", "Bytes received from the peer");
        _meter.CreateObservableGauge("export_behind_points", () => Exports(_exports.Value, e => e.LagPoints), description: "Points stored and not yet at the export's target");
        _meter.CreateObservableGauge("export_behind_seconds", () => Exports(_exports.Value, e => e.LagMs / 1000.0), "s", "How long the oldest point not yet at the export's target has waited");
        _meter.CreateObservableGauge("export_failing", () => Exports(_exports.Value, e => e.LastError is null ? 0 : 1), description: "1 while the export's target refuses or cannot be reached");
        _meter.CreateObservableCounter("export_sent_points", () => Exports(_exports.Value, e => e.PointsSent), description: "Points the export's target took since the hub started");
        _meter.CreateObservableCounter("grid_peer_sent_bytes", () => Peers(_grid.Value, p => p.BytesOut), "By", "Bytes sent to the peer");
    }

    public void Dispose()
    {
        _mqtt.ClientConnectedAsync -= OnConnected;
        _mqtt.ClientDisconnectedAsync -= OnDisconnected;
        _meter.Dispose();
    }

    private static IEnumerable<Measurement<T>> Exports<T>(IReadOnlyList<Exports.ExportState> exports, Func<Exports.ExportState, T> value)
        where T : struct =>
        exports.Select(e => new Measurement<T>(value(e), new KeyValuePair<string, object?>("export", e.Name)));

    private static IEnumerable<Measurement<T>> Peers<T>(GridLinksView grid, Func<GridPeerView, T> value)
        where T : struct =>
        grid.Peers.Select(p => new Measurement<T>(value(p), new KeyValuePair<string, object?>("peer", p.HubId)));

    private Task OnConnected(ClientConnectedEventArgs args)
    {
        Interlocked.Increment(ref _mqttConnections);
        return Task.CompletedTask;
    }

    private Task OnDisconnected(ClientDisconnectedEventArgs args)
    {
        // MQTTnet reports a disconnect for every connection it accepted, also a refused or taken-over one: never below 0.
        if (Interlocked.Decrement(ref _mqttConnections) < 0)
            Interlocked.Exchange(ref _mqttConnections, 0);
        return Task.CompletedTask;
    }
}

/// <summary>A value read at most once a second: the instruments of one scrape share it.</summary>
internal sealed class Snapshot<T>(Func<T> read)
{
    private readonly Lock _gate = new();
    private (T Value, long At)? _last;

    public T Value
    {
        get
        {
            lock (_gate)
            {
                var now = Environment.TickCount64;
                if (_last is not { } last || now - last.At >= 1000)
                    _last = last = (read(), now);
                return last.Value;
            }
        }
    }
}
