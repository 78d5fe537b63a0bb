using System.Collections.Concurrent;
using System.Net;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>
/// An anonymous local subscriber that records everything it receives. Absence is asserted only after a sentinel,
/// published after the messages in question, has arrived: the broker queues a subscriber's messages in order.
/// </summary>
internal sealed class Watcher : IAsyncDisposable
{
    private readonly IMqttClient _client;

    private Watcher(IMqttClient client) => _client = client;

    public ConcurrentQueue<(string Topic, string Payload, bool Retain)> Received { get; } = new();

    public static async Task<Watcher> StartAsync(IPEndPoint broker, string filter = "#")
    {
        var client = await TestMqtt.ConnectAsync(broker);
        var watcher = new Watcher(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            watcher.Received.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return watcher;
    }

    public bool Has(string topic, string payload) => Received.Any(m => m.Topic == topic && m.Payload == payload);

    /// <summary>Publishes a sentinel (anonymously, from this machine) and waits until this watcher has it.</summary>
    public async Task SentinelAsync(IPEndPoint broker, string topic = "acl/sentinel")
    {
        var payload = Guid.NewGuid().ToString("N");
        using (var publisher = await TestMqtt.ConnectAsync(broker))
            await publisher.PublishAsync(topic, payload);
        await Eventually.WaitForAsync(() => Task.FromResult(Has(topic, payload)), seen => seen, $"the sentinel on {topic}");
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisconnectAsync();
        _client.Dispose();
    }
}
