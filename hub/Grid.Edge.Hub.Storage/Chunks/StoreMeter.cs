using System.Diagnostics.Metrics;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// What the store measures as it works, as <see cref="System.Diagnostics.Metrics"/> instruments: free when nobody
/// listens, exported by the hub on <c>/metrics</c>. Counts and sizes are read from the store's statistics instead.
/// </summary>
public static class StoreMeter
{
    public const string Name = "grid_edge_store"; // exporters put it in front of the instruments' names

    private static readonly Meter Meter = new(Name);

    /// <summary>How long each checkpoint took (compressing changed buckets, writing chunks and rollups, trimming the log).</summary>
    internal static readonly Histogram<double> CheckpointSeconds = Meter.CreateHistogram<double>(
        "checkpoint_duration_seconds", "s", "How long each checkpoint of the store took");
}
