using System.Net;
using System.Reflection;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Security;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Who may connect: like Mosquitto 2, clients without credentials only from loopback (by default); everyone else
/// with a user name and password from the users file or configuration.
/// </summary>
internal sealed class MqttConnectionPolicy(HubOptions options, MqttUserDirectory users, ILogger<MqttConnectionPolicy> logger)
{
    private static readonly FieldInfo? ConnectPacketField = typeof(ValidatingConnectionEventArgs)
        .GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
        .FirstOrDefault(f => f.FieldType == typeof(MqttConnectPacket));

    public Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        var remote = RemoteAddress(args.RemoteEndPoint);
        if (string.IsNullOrEmpty(args.ClientId))
        {
            // Clients such as mosquitto_pub send no client id and expect the broker to assign one (allowed for
            // clean sessions only: a persistent session needs a stable id).
            if (args.CleanSession == false)
            {
                args.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
                return Task.CompletedTask;
            }

            var assigned = "auto-" + Guid.NewGuid().ToString("N");
            args.AssignedClientIdentifier = assigned;

            // MQTTnet assigns ids to MQTT 5 clients only; 3.1.1 allows it for clean sessions too [MQTT-3.1.3-6].
            if (ConnectPacketField?.GetValue(args) is MqttConnectPacket connect)
                connect.ClientId = assigned;
        }

        if (string.IsNullOrEmpty(args.UserName))
        {
            if (IsAnonymousAllowed(options.Anonymous, remote))
            {
                ClientIdentity.Unrestricted.Attach(args.SessionItems);
                return Task.CompletedTask;
            }

            args.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            args.ReasonString = "anonymous clients are accepted only from this machine; connect with a user name and password";
            logger.LogWarning("Refused anonymous MQTT client {ClientId} from {Remote}: credentials required", args.ClientId, remote);
            return Task.CompletedTask;
        }

        if (!users.Verify(args.UserName, args.Password ?? string.Empty, out var service))
        {
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            logger.LogWarning("Refused MQTT client {ClientId} from {Remote}: wrong user name or password for '{User}'", args.ClientId, remote, args.UserName);
            return Task.CompletedTask;
        }

        new ClientIdentity(args.UserName, Restricted: !service).Attach(args.SessionItems);
        return Task.CompletedTask;
    }

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
