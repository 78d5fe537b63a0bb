using System.Net;
using Grid.Edge.Firmware.Core.Platform;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>
/// The station's MQTT link over a real MQTTnet client to a real hub, with MQTT 3.1.1 like M2Mqtt on the device:
/// QoS 1, and true only when the PUBACK came back.
/// </summary>
internal sealed class HubLink(IPEndPoint broker, string clientId) : IMqttLink, IDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    /// <summary>When false the hub is "down": connecting fails as if nothing listened.</summary>
    public bool HubUp { get; set; } = true;

    public int Acknowledged { get; private set; }

    public bool Connect()
    {
        if (!HubUp)
            return false;
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Address.ToString(), broker.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var result = _client.ConnectAsync(options, timeout.Token).GetAwaiter().GetResult();
        return result.ResultCode == MqttClientConnectResultCode.Success;
    }

    public bool PublishAcknowledged(string topic, byte[] payload, int length, bool retain)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.AsSpan(0, length).ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var result = _client.PublishAsync(message, timeout.Token).GetAwaiter().GetResult();
        if (!result.IsSuccess)
            return false;
        Acknowledged++;
        return true;
    }

    public void Disconnect()
    {
        if (_client.IsConnected)
            _client.DisconnectAsync().GetAwaiter().GetResult();
    }

    public void Dispose() => _client.Dispose();
}
