using System.Collections;
using System.Net;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Hub.Security;

/// <summary>What kind of party an MQTT connection is.</summary>
internal enum ClientKind
{
    /// <summary>Not validated (or its identity was lost): may do nothing.</summary>
    Nobody,

    /// <summary>The hub's own messages (alerts), injected into the broker, never from a connection.</summary>
    Hub,

    /// <summary>A client without credentials (from this machine only, by default).</summary>
    Anonymous,

    /// <summary>A device user: publishes only under <c>grid/&lt;user&gt;/</c>.</summary>
    Device,

    /// <summary>A service user (Node-RED, bridges): not restricted to one device's topics.</summary>
    Service,
}

/// <summary>
/// Who an MQTT connection is and what it may touch, decided from the CONNECT credentials and remote address of that
/// connection (never inherited from a session it resumes). A device user (the default, and every paired device)
/// publishes only under <c>grid/&lt;user&gt;/</c>, retains only its <c>status</c> and <c>agent</c> topics and
/// subscribes only to its own <c>grid/&lt;user&gt;/config/</c> topics. Anonymous clients (accepted only from this
/// machine by default) and service users are not restricted. An identity whose credentials were changed or removed
/// is revoked and may do nothing more.
/// </summary>
internal sealed class ClientIdentity
{
    private const string SessionKey = "grid.identity";

    private volatile bool _revoked;

    private ClientIdentity(ClientKind kind, string? user, string? credential, IPAddress? remote)
    {
        Kind = kind;
        User = user;
        Credential = credential;
        Remote = remote;
    }

    /// <summary>The hub itself: only ever attached to the broker's own session items, which no client can reach.</summary>
    public static ClientIdentity Hub { get; } = new(ClientKind.Hub, null, null, null);

    /// <summary>What a session without a validated identity gets: nothing.</summary>
    public static ClientIdentity Nobody { get; } = new(ClientKind.Nobody, null, null, null);

    public ClientKind Kind { get; }

    /// <summary>The user name of the CONNECT, for device and service users.</summary>
    public string? User { get; }

    /// <summary>The users-file entry (salted hash and role) the password was verified against: its version.</summary>
    public string? Credential { get; }

    public IPAddress? Remote { get; }

    /// <summary>True once the user's credentials were removed or changed; a revoked identity may do nothing.</summary>
    public bool IsRevoked => _revoked;

    /// <summary>Who owns a session: a user, or all anonymous clients together.</summary>
    public string Principal => Kind switch
    {
        ClientKind.Device or ClientKind.Service => "user:" + User,
        ClientKind.Anonymous => "anonymous",
        ClientKind.Hub => "hub",
        _ => "nobody",
    };

    public static ClientIdentity Anonymous(IPAddress? remote) => new(ClientKind.Anonymous, null, null, remote);

    public static ClientIdentity ForUser(string user, string credential, bool service, IPAddress? remote) =>
        new(service ? ClientKind.Service : ClientKind.Device, user, credential, remote);

    public void Revoke() => _revoked = true;

    public bool MayPublish(string topic) => !_revoked && Kind switch
    {
        ClientKind.Hub or ClientKind.Anonymous or ClientKind.Service => true,
        ClientKind.Device => topic.StartsWith(DevicePrefix, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>Devices keep only their status and agent report retained; the others may retain what they may publish.</summary>
    public bool MayRetain(string topic) => MayPublish(topic) && (Kind != ClientKind.Device
        || topic == DevicePrefix + GridTopic.StatusSegment || topic == DevicePrefix + GridTopic.AgentSegment);

    public bool MaySubscribe(string filter) => !_revoked && Kind switch
    {
        ClientKind.Anonymous or ClientKind.Service => true,
        ClientKind.Device => filter.StartsWith(DevicePrefix + "config/", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>Why a device is refused, for logs and MQTT 5 reason strings.</summary>
    public string Limits => Kind == ClientKind.Device
        ? $"a device may publish only under grid/{User}/, retain only grid/{User}/status and grid/{User}/agent, and subscribe only to grid/{User}/config/..."
        : IsRevoked ? "the credentials of this connection were revoked" : "this connection may not do that";

    private string DevicePrefix => GridTopic.DevicePrefix(User!);

    public void Attach(IDictionary? sessionItems)
    {
        if (sessionItems is not null)
            sessionItems[SessionKey] = this;
    }

    /// <summary>The identity of a session; one without (never validated) may do nothing.</summary>
    public static ClientIdentity Of(IDictionary? sessionItems) =>
        sessionItems?[SessionKey] as ClientIdentity ?? Nobody;

    public override string ToString() => Kind switch
    {
        ClientKind.Device => $"device '{User}'",
        ClientKind.Service => $"service '{User}'",
        ClientKind.Anonymous => $"anonymous client from {Remote}",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
