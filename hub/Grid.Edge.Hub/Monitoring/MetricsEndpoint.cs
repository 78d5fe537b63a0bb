using Grid.Edge.Hub.Storage.Chunks;
using Prometheus;

namespace Grid.Edge.Hub.Monitoring;

/// <summary>
/// <c>GET /metrics</c>: <see cref="HubMetrics"/> and the store's instruments in the Prometheus text format, through
/// prometheus-net's meter adapter, with the process's CPU, memory and thread figures. Its own registry per hub (not
/// the library's global one), so hubs in one process never mix. It needs the admin's
/// session or an API token (Prometheus sends it as a bearer token: <c>authorization: credentials_file</c>).
/// </summary>
internal static class MetricsEndpoint
{
    public static void Map(WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<HubMetrics>();
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = registry,
            MetricFactory = Metrics.WithCustomRegistry(registry),
            InstrumentFilterPredicate = instrument => instrument.Meter.Name == StoreMeter.Name || ReferenceEquals(instrument.Meter, metrics.Meter),
        });
        app.Lifetime.ApplicationStopped.Register(adapter.Dispose);
        app.MapMetrics("/metrics", registry)
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy) // operational detail (peers, rates): the admin's, not a guest's
            .WithSummary("The hub's metrics in the Prometheus text format (ingest, rejections by reason, store, MQTT, live streams, grid peers' lag).");
    }
}
