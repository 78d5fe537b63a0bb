using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Storage.Chunks;

namespace Grid.Edge.Hub.GridNode;

/// <param name="Id">The hub id: a hash of the public key, 26 characters of base32.</param>
/// <param name="PublicKey">The hub's Ed25519 public key, base64.</param>
/// <param name="Origin">The name the hub's store stamps its own writes with (the hub id).</param>
internal sealed record HubIdentityResponse(string Id, string PublicKey, string Origin);

/// <summary>This hub as the grid knows it.</summary>
internal sealed record GridResponse(HubIdentityResponse Hub);

/// <summary>The grid's HTTP surface: who this hub is.</summary>
internal static class GridEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/grid", (HubIdentity identity, ChunkedTimeSeriesStore store) =>
                new GridResponse(new HubIdentityResponse(identity.HubId, identity.PublicKey, store.Origin)))
            .WithSummary("This hub's identity: its id, its Ed25519 public key and the origin name of its writes.");
    }
}
