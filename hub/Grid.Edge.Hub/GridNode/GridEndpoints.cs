using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Storage.Chunks;

namespace Grid.Edge.Hub.GridNode;

/// <param name="Id">The hub id: a hash of the public key, 26 characters of base32.</param>
/// <param name="PublicKey">The hub's Ed25519 public key, base64.</param>
/// <param name="Origin">The name the hub's store stamps its own writes with (the hub id).</param>
internal sealed record HubIdentityResponse(string Id, string PublicKey, string Origin);

/// <summary>This hub as the grid knows it, and its grid (every field null or empty while it belongs to none).</summary>
internal sealed record GridResponse(HubIdentityResponse Hub, GridView Grid);

/// <param name="Name">The grid's name, 1-64 bytes.</param>
internal sealed record CreateGridRequest(string? Name);

/// <summary>The grid's HTTP surface: who this hub is, its grid and members, and the admin's changes to them.</summary>
internal static class GridEndpoints
{
    public static void Map(WebApplication app)
    {
        var grid = app.MapGroup("/api/grid");

        grid.MapGet("", (HubIdentity identity, ChunkedTimeSeriesStore store, GridMembership membership) => Response(identity, store, membership.View()))
            .WithSummary("This hub's identity (id, Ed25519 public key, the origin name of its writes), its grid and the grid's members.");

        grid.MapPost("", (CreateGridRequest? request, HubIdentity identity, ChunkedTimeSeriesStore store, GridMembership membership) =>
                Change(identity, store, () => membership.Create(request?.Name ?? ""), StatusCodes.Status201Created))
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy)
            .Produces<GridResponse>(StatusCodes.Status201Created)
            .WithSummary("Founds a grid with this hub as its first member: {\"name\":\"home\"}. Refused (409) when the hub already belongs to one.");

        grid.MapDelete("/members/{hub}", (string hub, HubIdentity identity, ChunkedTimeSeriesStore store, GridMembership membership) =>
                Change(identity, store, () => membership.Remove(hub), StatusCodes.Status200OK))
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy)
            .Produces<GridResponse>()
            .WithSummary("Removes a member from the grid (this hub's own id: it leaves). A removal wins over any add that did not know of it.");
    }

    private static GridResponse Response(HubIdentity identity, ChunkedTimeSeriesStore store, GridView view) =>
        new(new HubIdentityResponse(identity.HubId, identity.PublicKey, store.Origin), view);

    private static IResult Change(HubIdentity identity, ChunkedTimeSeriesStore store, Func<GridView> change, int status)
    {
        try
        {
            return Results.Json(Response(identity, store, change()), statusCode: status);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Results.Json(new ErrorResponse($"the grid state could not be saved, so nothing changed: {ex.Message}; free space on the data folder's disk or fix its permissions, then try again"), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (GridMembershipException refused)
        {
            return Results.Json(new ErrorResponse(refused.Message), statusCode: refused.Refusal switch
            {
                GridRefusal.Invalid => StatusCodes.Status400BadRequest,
                GridRefusal.UnknownMember => StatusCodes.Status404NotFound,
                GridRefusal.NotAMember => StatusCodes.Status403Forbidden,
                _ => StatusCodes.Status409Conflict,
            });
        }
    }
}
