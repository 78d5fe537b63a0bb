using System.Reflection;
using System.Runtime.CompilerServices;
using Grid.Edge.Hub.Security;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Binds each connection's identity to the session it uses, and remembers whose each client id's session is.
/// MQTTnet hands a connection that resumes a session (CleanSession 0) the old session and its items, identity
/// included; so the identity decided when this connection's CONNECT was validated is written over the session's
/// before the connection reads its first packet. A client id whose session belongs to another principal (another
/// user, or anonymous) cannot be taken over: the CONNECT is refused, and the connection holding it stays.
/// </summary>
internal sealed class MqttSessionOwners
{
    // A validated CONNECT whose connection never completed (the socket died) stops blocking its client id after this.
    private static readonly TimeSpan ClaimLifetime = TimeSpan.FromSeconds(30);
    private const int MaxClaims = 1024;

    private static readonly FieldInfo ConnectedPacketField = typeof(ClientConnectedEventArgs)
        .GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
        .FirstOrDefault(f => f.FieldType == typeof(MqttConnectPacket))
        ?? throw new InvalidOperationException("This MQTTnet version hides the CONNECT packet of a connected client; the hub cannot bind identities to connections.");

    private readonly ConditionalWeakTable<MqttConnectPacket, ClientIdentity> _validated = new();
    private readonly Dictionary<string, ClientIdentity> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ClientIdentity Identity, long Since)> _claims = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    public MqttSessionOwners(TimeProvider time) => _time = time;

    /// <summary>
    /// Claims <paramref name="clientId"/> for a validated CONNECT, unless a session or a connection being made
    /// with that id belongs to another principal (then <paramref name="holder"/> is that identity).
    /// </summary>
    public bool TryClaim(string clientId, MqttConnectPacket connect, ClientIdentity identity, out ClientIdentity? holder)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            holder = _owners.GetValueOrDefault(clientId);
            if (holder is null && _claims.TryGetValue(clientId, out var claim) && _time.GetElapsedTime(claim.Since, now) < ClaimLifetime)
                holder = claim.Identity;
            if (holder is not null && holder.Principal != identity.Principal)
                return false;
            if (_claims.Count >= MaxClaims)
                DropExpiredClaims(now);
            _claims[clientId] = (identity, now);
        }

        _validated.AddOrUpdate(connect, identity);
        holder = null;
        return true;
    }

    // Under _gate. Claims of connections that never completed (the socket died after validation) go once expired.
    private void DropExpiredClaims(long now)
    {
        foreach (var (clientId, claim) in _claims.ToList())
        {
            if (_time.GetElapsedTime(claim.Since, now) >= ClaimLifetime)
                _claims.Remove(clientId);
        }
    }

    /// <summary>Called when a connection has its session and before it reads: its own identity goes on the session.</summary>
    public ClientIdentity Bind(ClientConnectedEventArgs args)
    {
        var connect = (MqttConnectPacket?)ConnectedPacketField.GetValue(args);
        var identity = connect is not null && _validated.TryGetValue(connect, out var validated) ? validated : ClientIdentity.Nobody;
        identity.Attach(args.SessionItems);
        lock (_gate)
        {
            _claims.Remove(args.ClientId);
            _owners[args.ClientId] = identity;
        }

        return identity;
    }

    /// <summary>The session of <paramref name="clientId"/> is gone: anyone may use the id again.</summary>
    public void Forget(string clientId, System.Collections.IDictionary? sessionItems)
    {
        var identity = ClientIdentity.Of(sessionItems);
        lock (_gate)
        {
            // Only the session that was bound last: a late delete of an older one leaves its successor's owner.
            if (_owners.TryGetValue(clientId, out var owner) && ReferenceEquals(owner, identity))
                _owners.Remove(clientId);
            if (_claims.TryGetValue(clientId, out var claim) && ReferenceEquals(claim.Identity, identity))
                _claims.Remove(clientId);
        }
    }

    /// <summary>Whose session a client id is (null when there is none).</summary>
    public ClientIdentity? OwnerOf(string clientId)
    {
        lock (_gate)
            return _owners.GetValueOrDefault(clientId);
    }
}
