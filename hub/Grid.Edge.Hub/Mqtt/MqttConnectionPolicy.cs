using System.Net;
using System.Reflection;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Security;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Who may connect, and as whom: like Mosquitto 2, clients without credentials only from loopback (by default);
/// everyone else with a user name and password from the users file or configuration. The identity comes from this
/// CONNECT's credentials and remote address only. Client ids follow <see cref="ClientIds"/>; a will must be on a
/// topic the client may publish (and retain, when retained); a client id whose session belongs to another principal
/// is refused; refused CONNECTs back off per address (<see cref="ConnectThrottle"/>).
/// </summary>
internal sealed class MqttConnectionPolicy(
    HubOptions options,
    MqttUserDirectory users,
    MqttSessionOwners owners,
    ConnectThrottle throttle,
    TimeProvider time,
    ILogger<MqttConnectionPolicy> logger)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(30);
    private readonly Dictionary<MqttConnectReasonCode, (long Since, int Suppressed)> _logWindows = [];

    private static readonly FieldInfo ConnectPacketField = typeof(ValidatingConnectionEventArgs)
        .GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
        .FirstOrDefault(f => f.FieldType == typeof(MqttConnectPacket))
        ?? throw new InvalidOperationException("This MQTTnet version hides the CONNECT packet from validation; the hub cannot check wills and client ids.");

    public Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        var remote = RemoteAddress(args.RemoteEndPoint);
        var connect = (MqttConnectPacket)ConnectPacketField.GetValue(args)!;
        var anonymous = string.IsNullOrEmpty(args.UserName);
        if (!(anonymous && IsAnonymousAllowed(options.Anonymous, remote)) && throttle.IsThrottled(remote, out var retryAfter))
        {
            // The password is not even checked: a guesser learns nothing while it waits.
            Refuse(args, MqttConnectReasonCode.ServerBusy, $"too many refused connections from this address; try again in {Math.Ceiling(retryAfter.TotalSeconds):0} s", remote, count: false);
            return Task.CompletedTask;
        }

        if (string.IsNullOrEmpty(args.ClientId))
        {
            // Clients such as mosquitto_pub send no client id and expect the broker to assign one (allowed for
            // clean sessions only: a persistent session needs a stable id).
            if (args.CleanSession == false)
            {
                Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, "a persistent session (clean session 0) needs a client id", remote);
                return Task.CompletedTask;
            }

            var assigned = ClientIds.Assign(anonymous ? null : args.UserName);
            args.AssignedClientIdentifier = assigned;

            // MQTTnet assigns ids to MQTT 5 clients only; 3.1.1 allows it for clean sessions too [MQTT-3.1.3-6].
            connect.ClientId = assigned;
        }
        else if (ClientIds.IsReserved(args.ClientId))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, $"client id '{Printable(args.ClientId)}' is reserved for the hub", remote);
            return Task.CompletedTask;
        }

        var identity = Authenticate(args, remote, anonymous);
        if (identity is null)
            return Task.CompletedTask;

        var clientId = connect.ClientId;
        var named = ClientIds.NamedUser(clientId);
        if (identity.Kind == ClientKind.Device && !ClientIds.BelongsTo(clientId, identity.User!))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, $"device '{identity.User}' must use the client id '{identity.User}' (or '{identity.User}:<anything>')", remote);
            return Task.CompletedTask;
        }

        if (named != identity.User && users.Exists(named))
        {
            Refuse(args, MqttConnectReasonCode.ClientIdentifierNotValid, $"client id '{Printable(clientId)}' belongs to user '{named}'", remote);
            return Task.CompletedTask;
        }

        if (connect.WillFlag && (!identity.MayPublish(connect.WillTopic ?? string.Empty) || (connect.WillRetain && !identity.MayRetain(connect.WillTopic!))))
        {
            Refuse(args, MqttConnectReasonCode.NotAuthorized, $"the will topic '{Printable(connect.WillTopic)}' is not allowed: {identity.Limits}", remote);
            return Task.CompletedTask;
        }

        if (!owners.TryClaim(clientId, connect, identity, out var holder))
        {
            Refuse(args, MqttConnectReasonCode.NotAuthorized, $"client id '{Printable(clientId)}' is in use by {holder}; choose another", remote);
            return Task.CompletedTask;
        }

        if (!anonymous)
            throttle.Succeeded(remote);
        identity.Attach(args.SessionItems);
        return Task.CompletedTask;
    }

    private ClientIdentity? Authenticate(ValidatingConnectionEventArgs args, IPAddress? remote, bool anonymous)
    {
        if (anonymous)
        {
            if (IsAnonymousAllowed(options.Anonymous, remote))
                return ClientIdentity.Anonymous(remote);
            Refuse(args, MqttConnectReasonCode.NotAuthorized, "anonymous clients are accepted only from this machine; connect with a user name and password (credentials required)", remote);
            return null;
        }

        var entry = users.Authenticate(args.UserName, args.Password ?? string.Empty);
        if (entry is null)
        {
            Refuse(args, MqttConnectReasonCode.BadUserNameOrPassword, $"wrong user name or password for '{Printable(args.UserName)}'", remote);
            return null;
        }

        return ClientIdentity.ForUser(args.UserName, entry, UsersFile.Split(entry).Service, remote);
    }

    private void Refuse(ValidatingConnectionEventArgs args, MqttConnectReasonCode code, string reason, IPAddress? remote, bool count = true)
    {
        args.ReasonCode = code;
        args.ReasonString = reason;
        if (count)
            throttle.Failed(remote);

        // A flood of refusals must not flood the journal: one line per kind of refusal every 30 s, with a count.
        int suppressed;
        lock (_logWindows)
        {
            var now = time.GetTimestamp();
            if (_logWindows.TryGetValue(code, out var window) && time.GetElapsedTime(window.Since, now) < LogInterval)
            {
                _logWindows[code] = (window.Since, window.Suppressed + 1);
                return;
            }

            suppressed = window.Suppressed;
            _logWindows[code] = (now, 0);
        }

        logger.LogWarning("Refused MQTT client {ClientId} from {Remote}: {Reason}{Suppressed}", Printable(args.ClientId), remote, reason, suppressed > 0 ? $" ({suppressed} more refused like it in the last {LogInterval.TotalSeconds:0} s)" : string.Empty);
    }

    /// <summary>Client-chosen text for a log line: control characters and overlong ids are not written as they came.</summary>
    private static string Printable(string? text) =>
        text is null ? string.Empty : Grid.Edge.Protocol.Payloads.ReadingDecoder.Printable(text);

    public static bool IsAnonymousAllowed(AnonymousAccess policy, IPAddress? remote) => policy switch
    {
        AnonymousAccess.Any => true,
        AnonymousAccess.Loopback => remote is not null && IPAddress.IsLoopback(remote),
        _ => false,
    };

    public static IPAddress? RemoteAddress(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint ip)
            return null;
        return ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
    }
}
