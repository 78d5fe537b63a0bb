using System.Net;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>Real MQTTnet clients against the hub under test.</summary>
internal static class TestMqtt
{
    private static readonly MqttClientFactory Factory = new();

    public static async Task<IMqttClient> ConnectAsync(
        IPEndPoint broker,
        string? clientId = null,
        MqttProtocolVersion version = MqttProtocolVersion.V500,
        string? user = null,
        string? password = null,
        Action<MqttClientOptionsBuilder>? configure = null,
        IPAddress? from = null)
    {
        var client = Factory.CreateMqttClient();
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Address.ToString(), broker.Port)
            // A user's client ids are its name or "<name>:..." (anonymous test clients take any other id).
            .WithClientId(clientId ?? (user is null ? "test-" : user + ":") + Guid.NewGuid().ToString("N")[..12])
            .WithProtocolVersion(version)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (user is not null)
            builder.WithCredentials(user, password);
        if (from is not null)
            builder.WithTcpServer(tcp => tcp.LocalEndpoint = new IPEndPoint(from, 0)); // another loopback address: the hub backs off per address

        configure?.Invoke(builder);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            var result = await client.ConnectAsync(builder.Build(), timeout.Token);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
                throw new MqttConnectionRefusedException(result.ResultCode);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return client;
    }

    public static async Task<MqttClientPublishResult> PublishAsync(this IMqttClient client, string topic, byte[] payload)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        return await client.PublishAsync(message, timeout.Token);
    }

    public static async Task<MqttClientPublishResult> PublishAsync(this IMqttClient client, string topic, string payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, bool retain = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).WithRetainFlag(retain).Build();
        return await client.PublishAsync(message, timeout.Token);
    }

    /// <summary>Readings of one series, each a QoS 1 message <c>{"v","t"}</c> as a device sends them, on a connection of their own; each must be acknowledged.</summary>
    public static async Task PublishReadingsAsync(IPEndPoint broker, string device, string metric, IEnumerable<(long T, double V)> points)
    {
        using var client = await ConnectAsync(broker, clientId: device + "-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var (t, v) in points)
        {
            var result = await client.PublishAsync($"grid/{device}/{metric}", System.Text.Json.JsonSerializer.Serialize(new { v, t }));
            if (!result.IsSuccess)
                throw new InvalidOperationException($"grid/{device}/{metric} at {t} was refused: {result.ReasonCode} {result.ReasonString}");
        }
    }
}

internal sealed class MqttConnectionRefusedException(MqttClientConnectResultCode code)
    : Exception("The broker refused the connection: " + code)
{
    public MqttClientConnectResultCode Code { get; } = code;
}
