using System.Collections;

namespace Grid.Edge.Hub.Security;

/// <summary>
/// Who a connected MQTT client is and what it may touch. A device user (the default, and every paired device)
/// publishes only under <c>grid/&lt;user&gt;/</c> and subscribes only to its own <c>grid/&lt;user&gt;/config/</c>
/// topics. Anonymous clients (accepted only from this machine by default) and service users are not restricted.
/// </summary>
public sealed record ClientIdentity(string? User, bool Restricted)
{
    private const string SessionKey = "grid.identity";

    public static readonly ClientIdentity Unrestricted = new(null, false);

    public bool MayPublish(string topic) =>
        !Restricted || topic.StartsWith("grid/" + User + "/", StringComparison.Ordinal);

    public bool MaySubscribe(string filter) =>
        !Restricted || filter.StartsWith("grid/" + User + "/config/", StringComparison.Ordinal);

    public void Attach(IDictionary? sessionItems)
    {
        if (sessionItems is not null)
            sessionItems[SessionKey] = this;
    }

    /// <summary>The identity of a session; a session without one (never validated) is treated as restricted to nothing.</summary>
    public static ClientIdentity Of(IDictionary? sessionItems) =>
        sessionItems?[SessionKey] as ClientIdentity ?? new ClientIdentity(string.Empty, true);
}
