using System.Net;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Replication.Node;

namespace Grid.Edge.Hub.GridNode;

/// <summary>
/// Runs the grid on this hub: opens the grid port when the hub starts (its address goes on the ready line), hands
/// the hub's own stored readings to the replicator and the replicator's merged ones to the one readings writer, and
/// closes the links when the hub stops.
/// </summary>
internal sealed class GridService(GridReplicator replicator, ReadingWriter writer, HubEndpoints endpoints, Configuration.HubOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            replicator.Start();
        }
        catch (NetMQ.NetMQException ex)
        {
            throw new IOException($"The grid port {options.Bind}:{options.GridPort} cannot be opened (address already in use, or not this machine's: {ex.Message}).", ex);
        }

        endpoints.Grid = new IPEndPoint(IPAddress.Parse(options.Bind), replicator.Port);
        writer.Stored += OnStored;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        writer.Stored -= OnStored;
        await replicator.DisposeAsync();
    }

    /// <summary>The merge function the replicator is built with: peers' readings, stored with their stamps and announced as remote.</summary>
    public static Func<IReadOnlyList<Storage.Versions.StampedReading>, CancellationToken, ValueTask> Merge(ReadingWriter writer) =>
        async (readings, token) => await writer.MergeAsync(readings, token);

    // Only what this hub measured or derived becomes its deltas; remote readings came as someone else's.
    private void OnStored(ReadingsStored stored)
    {
        if (stored.Origin != ReadingOrigin.Remote)
            replicator.OnLocalWrites(stored.Readings, stored.Corrections);
    }
}
