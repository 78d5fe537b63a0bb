using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Security;
using Grid.Edge.Protocol.Topics;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>Connects the embedded broker to the hub: authentication, ingest of <c>grid/</c> messages, durable acks.</summary>
internal sealed class MqttIngestBridge(MqttServer server, MqttConnectionPolicy policy, IngestService ingest)
{
    // MQTT 5 topic aliases are resolved by the broker after the inbound interceptor runs, so we keep our own map.
    private static readonly ConditionalWeakTable<IDictionary, ConcurrentDictionary<ushort, string>> TopicAliases = new();

    public void Attach()
    {
        server.ValidatingConnectionAsync += policy.ValidateAsync;
        server.InterceptingInboundPacketAsync += OnInboundPacketAsync;
        server.InterceptingPublishAsync += OnPublishAsync;
        server.InterceptingSubscriptionAsync += OnSubscribeAsync;
        server.InterceptingOutboundPacketAsync += DurableAcknowledgements.HoldUntilDurableAsync;
    }

    private Task OnInboundPacketAsync(InterceptingPacketEventArgs args)
    {
        if (args.Packet is not MqttPublishPacket publish)
            return Task.CompletedTask;

        var topic = ResolveTopic(publish, args.SessionItems);
        if (string.IsNullOrEmpty(topic))
            return Task.CompletedTask;
        var identity = ClientIdentity.Of(args.SessionItems);
        Task<IngestOutcome> pending;
        if (!identity.MayPublish(topic))
            pending = Task.FromResult(ingest.Refuse(topic, identity.User, args.ClientId));
        else if (IsStatusTopic(topic))
            return Task.CompletedTask;
        else
            pending = ingest.IngestAsync(topic, publish.Payload, args.ClientId, identity.User);
        if (args.SessionItems is null || !DurableAcknowledgements.Track(args.SessionItems, publish, pending))
        {
            // Nobody waits for a QoS 0 message; a failed write is logged by the store.
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Status messages are taken where the broker dispatches them, because a last will never arrives as an
    /// inbound packet: the broker publishes it itself when a device drops off.
    /// </summary>
    private async Task OnPublishAsync(InterceptingPublishEventArgs args)
    {
        var topic = args.ApplicationMessage.Topic;
        if (string.IsNullOrEmpty(topic))
            return;
        // The hub's own messages (alerts) come from no connection and may go anywhere.
        if (args.ClientId != Alerts.AlertService.HubClientId && !ClientIdentity.Of(args.SessionItems).MayPublish(topic))
        {
            // Refused (and recorded) on the way in; it must not reach subscribers or the retained store either.
            args.ProcessPublish = false;
            args.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            return;
        }

        if (!IsStatusTopic(topic))
            return;
        var outcome = await ingest.IngestAsync(topic, args.ApplicationMessage.Payload, args.ClientId, ClientIdentity.Of(args.SessionItems).User);
        if (outcome.AllRejected)
            args.Response.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
    }

    private static Task OnSubscribeAsync(InterceptingSubscriptionEventArgs args)
    {
        var identity = ClientIdentity.Of(args.SessionItems);
        if (!identity.MaySubscribe(args.TopicFilter.Topic))
        {
            args.ProcessSubscription = false;
            args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            args.Response.ReasonString = $"a device may subscribe only to grid/{identity.User}/config/...";
        }

        return Task.CompletedTask;
    }

    private static bool IsStatusTopic(string topic) =>
        topic.EndsWith("/" + GridTopic.StatusSegment, StringComparison.Ordinal) && GridTopic.IsGridTopic(topic);

    private static string? ResolveTopic(MqttPublishPacket publish, IDictionary? sessionItems)
    {
        if (publish.TopicAlias == 0 || sessionItems is null)
            return publish.Topic;
        var aliases = TopicAliases.GetValue(sessionItems, static _ => new ConcurrentDictionary<ushort, string>());
        if (!string.IsNullOrEmpty(publish.Topic))
        {
            aliases[publish.TopicAlias] = publish.Topic;
            return publish.Topic;
        }

        return aliases.GetValueOrDefault(publish.TopicAlias);
    }
}
