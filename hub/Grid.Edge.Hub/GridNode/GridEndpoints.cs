using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Storage.Chunks;

namespace Grid.Edge.Hub.GridNode;

/// <param name="Id">The hub id: a hash of the public key, 26 characters of base32.</param>
/// <param name="PublicKey">The hub's Ed25519 public key, base64.</param>
/// <param name="Origin">The name the hub's store stamps its own writes with (the hub id).</param>
internal sealed record HubIdentityResponse(string Id, string PublicKey, string Origin);

/// <summary>This hub as the grid knows it, its grid (every field null or empty while it belongs to none), and its links.</summary>
internal sealed record GridResponse(HubIdentityResponse Hub, GridView Grid, GridLinksView? Links = null);

/// <param name="Name">The grid's name, 1-64 bytes.</param>
internal sealed record CreateGridRequest(string? Name);

/// <param name="Minutes">How long the code stays valid: 1 to 10080 (a week); default 60.</param>
internal sealed record InviteRequest(int? Minutes);

/// <param name="Code">The one-time code to give the joining hub (<c>grid join &lt;code&gt;</c>); it holds a secret.</param>
internal sealed record InviteResponse(string Code, DateTimeOffset ExpiresAt, IReadOnlyList<string> Addresses);

/// <param name="Code">The code printed by <c>grid invite</c> on a member.</param>
internal sealed record JoinRequest(string? Code);

/// <summary>The grid's HTTP surface: who this hub is, its grid and members, and the admin's changes to them.</summary>
internal static class GridEndpoints
{
    public static void Map(WebApplication app)
    {
        var grid = app.MapGroup("/api/grid");

        grid.MapGet("", (HubIdentity identity, ChunkedTimeSeriesStore store, GridMembership membership, GridReplicator replicator) =>
                Response(identity, store, membership.View(), replicator))
            .WithSummary("This hub's identity (id, Ed25519 public key, the origin name of its writes), its grid, the grid's members, and its links: the grid port and per peer its state, address, last contact and bytes in and out.");

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

        grid.MapGet("/digest", async (long? from, long? to, GridReplicator replicator, CancellationToken token) =>
            {
                var (start, end) = (from ?? 0, to ?? GridReplicator.MaxTimeMs);
                if (start < 0 || end <= start || end > GridReplicator.MaxTimeMs)
                    return Results.Json(new ErrorResponse($"from and to are Unix milliseconds with 0 <= from < to <= {GridReplicator.MaxTimeMs}"), statusCode: StatusCodes.Status400BadRequest);
                return Results.Json(await replicator.DigestAsync(start, end, token));
            })
            .Produces<GridDigest>()
            .WithSummary("The number of stored points with from <= t < to (Unix ms; default: all) and a SHA-256 over each (series, time, value bits, winning stamp): two hubs answer the same exactly when they hold the same content.");

        grid.MapGet("/provisional", (GridReplicator replicator) => replicator.Provisional())
            .WithSummary("This hub's readings that have reached no other hub yet, as far as it has heard: per series ('device/metric') or device ('device/*') the earliest reading time (Unix ms) and the points. Charts mark readings from that time on. Empty outside a grid.");

        grid.MapPost("/invitations", (InviteRequest? request, GridReplicator replicator) =>
            {
                var minutes = request?.Minutes ?? 60;
                try
                {
                    var (code, expires) = replicator.Invite(TimeSpan.FromMinutes(minutes));
                    return Results.Json(new InviteResponse(code, expires, replicator.Addresses), statusCode: StatusCodes.Status201Created);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or GridMembershipException)
                {
                    return Refused(ex);
                }
            })
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy)
            .Produces<InviteResponse>(StatusCodes.Status201Created)
            .WithSummary("A one-time code for another hub to join this grid: {\"minutes\":60}. It names this hub's grid addresses and holds a secret: hand it over privately.");

        grid.MapPost("/join", async (JoinRequest? request, HubIdentity identity, ChunkedTimeSeriesStore store, GridReplicator replicator, CancellationToken token) =>
            {
                try
                {
                    var view = await replicator.JoinAsync(request?.Code ?? "", TimeSpan.FromSeconds(30), token);
                    return Results.Json(Response(identity, store, view, replicator));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or GridMembershipException)
                {
                    return Refused(ex);
                }
            })
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy)
            .Produces<GridResponse>()
            .WithSummary("Joins a grid with a code from 'grid invite' on a member: {\"code\":\"grid1-...\"}. The hub connects to the inviter, proves the code and takes the grid's records (up to 30 s).");
    }

    private static GridResponse Response(HubIdentity identity, ChunkedTimeSeriesStore store, GridView view, GridReplicator? replicator = null) =>
        new(new HubIdentityResponse(identity.HubId, identity.PublicKey, store.Origin), view, replicator?.Links());

    private static IResult Change(HubIdentity identity, ChunkedTimeSeriesStore store, Func<GridView> change, int status)
    {
        try
        {
            return Results.Json(Response(identity, store, change()), statusCode: status);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or GridMembershipException)
        {
            return Refused(ex);
        }
    }

    private static IResult Refused(Exception ex) => ex switch
    {
        GridMembershipException refused => Results.Json(new ErrorResponse(refused.Message), statusCode: refused.Refusal switch
        {
            GridRefusal.Invalid => StatusCodes.Status400BadRequest,
            GridRefusal.UnknownMember => StatusCodes.Status404NotFound,
            GridRefusal.NotAMember => StatusCodes.Status403Forbidden,
            _ => StatusCodes.Status409Conflict,
        }),
        _ => Results.Json(new ErrorResponse($"the grid state could not be saved, so nothing changed: {ex.Message}; free space on the data folder's disk or fix its permissions, then try again"), statusCode: StatusCodes.Status503ServiceUnavailable),
    };
}
