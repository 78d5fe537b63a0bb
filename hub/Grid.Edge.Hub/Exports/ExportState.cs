namespace Grid.Edge.Hub.Exports;

/// <summary>An export as the API and the home page show it.</summary>
/// <param name="State">catching up (sending buckets changed since its cursor), live (in step), retrying (the target failed; waiting to try again), backfilling.</param>
/// <param name="LagPoints">Points stored and not yet at the target (while catching up: those of the buckets still to send, as far as known).</param>
/// <param name="LagMs">How long the oldest of them has waited (0 when none).</param>
/// <param name="Cursor">The store change up to which every point has reached the target (kept across restarts).</param>
internal sealed record ExportState(
    string Name,
    string Kind,
    string Target,
    string State,
    DateTimeOffset? LastSuccess,
    long LagPoints,
    long LagMs,
    string? LastError,
    long PointsSent,
    long Cursor,
    string Series);

/// <param name="From">Where the backfill starts: Unix ms, RFC 3339, or relative (-30d).</param>
internal sealed record BackfillRequest(string? From);

/// <summary>A backfill the export took on.</summary>
internal sealed record BackfillResponse(string Name, DateTimeOffset From, int Series);
