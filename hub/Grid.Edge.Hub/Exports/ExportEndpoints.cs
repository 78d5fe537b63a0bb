using Grid.Edge.Hub.Api;

namespace Grid.Edge.Hub.Exports;

/// <summary><c>/api/exports</c>: each export's state, and the admin's backfill.</summary>
internal static class ExportEndpoints
{
    public static void Map(WebApplication app)
    {
        var exports = app.MapGroup("/api/exports");
        // Guests (the guest view) see how each export keeps up, not where it sends nor the target's errors (addresses, database names).
        exports.MapGet("", (ExportService service, HttpContext http) => service.Workers.Select(w => w.State())
                .Select(state => http.User.Identity?.IsAuthenticated == true ? state : state with { Target = "", LastError = state.LastError is null ? null : "failing (the admin sees why)" })
                .ToList())
            .Produces<IReadOnlyList<ExportState>>()
            .WithSummary("Each export (Hub:Exports): name, kind, target (server and database, never credentials), state (catching up, live, retrying, backfilling), lastSuccess, lagPoints and lagMs (points stored and not yet at the target, and how long the oldest has waited), lastError, pointsSent, its durable cursor and its series patterns.");

        exports.MapPost("/{name}/backfill", (string name, BackfillRequest? request, ExportService service, TimeProvider time) =>
            {
                if (service.Find(name) is not { } worker)
                    return Results.Json(new ErrorResponse($"There is no export named '{name}'; GET /api/exports lists them."), statusCode: StatusCodes.Status404NotFound);
                if (string.IsNullOrWhiteSpace(request?.From) || !QueryParameters.TryParseInstant(request.From, time.GetUtcNow().ToUnixTimeMilliseconds(), out var from, out var error))
                    return Results.Json(new ErrorResponse($"from must be a time: Unix ms, RFC 3339 (2026-11-22T10:00:00Z) or relative (-30d){(request?.From is null ? "" : $"; '{request.From}' is not one")}."), statusCode: StatusCodes.Status400BadRequest);
                _ = error;
                var series = worker.Backfill(from);
                return Results.Json(new BackfillResponse(worker.Name, DateTimeOffset.FromUnixTimeMilliseconds(from), series), statusCode: StatusCodes.Status202Accepted);
            })
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy)
            .Produces<BackfillResponse>(StatusCodes.Status202Accepted)
            .WithSummary("Sends every stored point of the export's series from {\"from\":\"-30d\"} (Unix ms, RFC 3339 or relative) on to its target again, after what is under way; the target keeps each point once.");
    }
}
