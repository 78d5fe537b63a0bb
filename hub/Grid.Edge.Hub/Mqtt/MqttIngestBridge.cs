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

/// <summary>
/// Connects the embedded broker to the hub: authentication, the ACL, ingest of <c>grid/</c> messages, durable acks.
/// Every message is judged by the identity of the connection that sent it; a refused one is neither delivered nor
/// retained. The hub's own messages are those injected with the broker's own session items, which no connection has.
/// </summary>
internal sealed class MqttIngestBridge(MqttServer server, MqttConnectionPolicy policy, MqttSessionOwners owners, RetainedQuota retained, IngestService ingest, ILogger<MqttIngestBridge> logger)
{
    // MQTT 5 topic aliases are resolved by the broker after the inbound interceptor runs, so we keep our own map.
    private static readonly ConditionalWeakTable<IDictionary, ConcurrentDictionary<ushort, string>> TopicAliases = new();

    public void Attach()
    {
        server.ValidatingConnectionAsync += policy.ValidateAsync;
        server.ClientConnectedAsync += args =>
        {
            owners.Bind(args);

            // Topic aliases belong to a connection, not to the session it may resume.
            TopicAliases.Remove(args.SessionItems);
            return Task.CompletedTask;
        };
        server.SessionDeletedAsync += args =>
        {
            owners.Forget(args.Id, args.SessionItems);
            return Task.CompletedTask;
        };
        server.InterceptingInboundPacketAsync += OnInboundPacketAsync;
        server.InterceptingPublishAsync += OnPublishAsync;
        server.InterceptingSubscriptionAsync += OnSubscribeAsync;
        server.InterceptingOutboundPacketAsync += args => DurableAcknowledgements.HoldUntilDurableAsync(args, server, logger);
    }

    private async Task OnInboundPacketAsync(InterceptingPacketEventArgs args)
    {
        if (args.Packet is not MqttPublishPacket publish)
            return;

        var topic = ResolveTopic(publish, args.SessionItems);
        if (string.IsNullOrEmpty(topic))
            return;
        var identity = ClientIdentity.Of(args.SessionItems);
        Task<IngestOutcome> pending;
        if (Refusal(identity, topic, publish.Retain, publish.Payload.Length, decide: false) is { } refused)
            pending = Task.FromResult(ingest.Refuse(topic, identity.User, args.ClientId, refused.Why));
        else if (IsStatusTopic(topic))
            return;
        else
            pending = await ingest.EnqueueAsync(topic, publish.Payload, args.ClientId, identity.User, args.CancellationToken); // waits while the ingest queue is full
        if (args.SessionItems is null || !DurableAcknowledgements.Track(args.SessionItems, publish, pending))
        {
            // Nobody waits for a QoS 0 message; a failed write is logged by the store.
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
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
        var identity = ReferenceEquals(args.SessionItems, server.ServerSessionItems) ? ClientIdentity.Hub : ClientIdentity.Of(args.SessionItems);
        if (Refusal(identity, topic, args.ApplicationMessage.Retain, args.ApplicationMessage.Payload.Length, decide: true) is { } refused)
        {
            // Refused (and recorded) on the way in; it must not reach subscribers or the retained store either.
            args.ProcessPublish = false;
            args.Response.ReasonCode = refused.Code;
            args.Response.ReasonString = refused.Why;
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
            args.Response.ReasonString = identity.Limits;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Why <paramref name="identity"/> may not publish this, or null. With <paramref name="decide"/> a retained
    /// message is taken into the retained quota; without, the quota is only asked.
    /// </summary>
    private (MqttPubAckReasonCode Code, string Why)? Refusal(ClientIdentity identity, string topic, bool retain, long payloadBytes, bool decide)
    {
        if (!IsValidTopicName(topic))
            return (MqttPubAckReasonCode.TopicNameInvalid, "a topic name may not hold + # or NUL");
        if (!identity.MayPublish(topic) || (retain && !identity.MayRetain(topic)))
            return (MqttPubAckReasonCode.NotAuthorized, identity.Limits);
        if (!retain)
            return null;
        var exempt = identity.Kind == ClientKind.Hub;
        var over = decide ? retained.TryAccept(topic, payloadBytes, exempt) : retained.WouldRefuse(topic, payloadBytes, exempt);
        return over is null ? null : (MqttPubAckReasonCode.QuotaExceeded, over);
    }

    private static bool IsValidTopicName(string topic) => topic.AsSpan().IndexOfAny('+', '#', '\0') < 0;

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
