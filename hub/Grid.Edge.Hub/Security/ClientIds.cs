namespace Grid.Edge.Hub.Security;

/// <summary>
/// Which MQTT client ids a connection may use. A user's client id is its user name, or its user name, a colon and
/// anything (<c>van-7</c>, <c>van-7:diag</c>): the colon cannot be part of a user name, so no user's ids can be
/// mistaken for another's. Ids naming a user are that user's alone (no anonymous or other client can knock it off or
/// take its session); device users must use them. Ids the hub uses itself are refused for every client.
/// </summary>
internal static class ClientIds
{
    /// <summary>The sender id of the hub's own messages (alerts). Informational only: they are recognised by their session.</summary>
    public const string Hub = "grid-hub";

    /// <summary>Prefix of the ids the broker assigns to clients that send none.</summary>
    public const string AssignedPrefix = "auto-";

    public const char Separator = ':';

    /// <summary>True for ids no client may choose: the hub's own and those the broker assigns.</summary>
    public static bool IsReserved(string clientId) =>
        clientId == Hub
        || clientId.StartsWith(Hub + Separator, StringComparison.Ordinal)
        || clientId.StartsWith(AssignedPrefix, StringComparison.Ordinal);

    /// <summary>True when <paramref name="clientId"/> is <paramref name="user"/> or starts with <c>user:</c>.</summary>
    public static bool BelongsTo(string clientId, string user) =>
        clientId.StartsWith(user, StringComparison.Ordinal)
        && (clientId.Length == user.Length || clientId[user.Length] == Separator);

    /// <summary>The user a client id names: the part before the first colon (the whole id without one).</summary>
    public static string NamedUser(string clientId)
    {
        var colon = clientId.IndexOf(Separator, StringComparison.Ordinal);
        return colon < 0 ? clientId : clientId[..colon];
    }

    /// <summary>An id for a client that sent none: the user's own prefix for users, so it satisfies the rule above.</summary>
    public static string Assign(string? user) =>
        string.IsNullOrEmpty(user) ? AssignedPrefix + Guid.NewGuid().ToString("N") : user + Separator + AssignedPrefix + Guid.NewGuid().ToString("N");
}
