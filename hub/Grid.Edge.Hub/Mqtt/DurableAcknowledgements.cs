using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grid.Edge.Hub.Ingest;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Holds back a QoS 1 PUBACK (QoS 2 PUBREC) until the message's readings are on disk, without stalling the
/// client's receive loop: the broker reads on while the store groups many messages into one commit, and the
/// send loop waits for each acknowledgement's own commit. A device that has its ack may forget the data.
/// </summary>
internal static class DurableAcknowledgements
{
    // Keyed by the session's item dictionary, so the pending acks of a session go when the session goes.
    private static readonly ConditionalWeakTable<IDictionary, ConcurrentDictionary<ushort, Task<IngestOutcome>>> Pending = new();

    /// <summary>Called on the receive loop for each inbound PUBLISH, in order. False when no ack will wait for it.</summary>
    public static bool Track(IDictionary sessionItems, MqttPublishPacket publish, Task<IngestOutcome> ingest)
    {
        if (publish.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce || publish.PacketIdentifier == 0)
            return false;
        PendingFor(sessionItems)[publish.PacketIdentifier] = ingest;
        return true;
    }

    /// <summary>
    /// Called on the send loop before each outbound packet. When the message could not be stored the ack is not
    /// sent and the connection is closed: the device keeps the readings and sends them again after reconnecting.
    /// </summary>
    public static async Task HoldUntilDurableAsync(InterceptingPacketEventArgs args, MqttServer server, ILogger logger)
    {
        ushort id;
        switch (args.Packet)
        {
            case MqttPubAckPacket ack:
                id = ack.PacketIdentifier;
                break;
            case MqttPubRecPacket rec:
                id = rec.PacketIdentifier;
                break;
            default:
                return;
        }

        if (args.SessionItems is null || !PendingFor(args.SessionItems).TryRemove(id, out var ingest))
            return;

        IngestOutcome outcome;
        try
        {
            outcome = await ingest.WaitAsync(args.CancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // MQTTnet would only drop this packet and carry on; an ack must never go out for it, and the device
            // must learn that it has to send again, which (MQTT 3.1.1 has no negative ack) a closed connection says.
            args.ProcessPacket = false;
            logger.LogWarning("Closing MQTT client '{Client}': message {Id} could not be stored ({Reason}); it is not acknowledged and the device sends it again", args.ClientId, id, ex.Message);
            var clientId = args.ClientId;
            _ = Task.Run(async () =>
            {
                try
                {
                    await server.DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.UnspecifiedError, ReasonString = "the hub could not store a message; send it again" });
                }
                catch (Exception disconnect) when (disconnect is InvalidOperationException or ObjectDisposedException or MQTTnet.Exceptions.MqttCommunicationException)
                {
                    // Gone already.
                }
            });
            return;
        }

        if (outcome.NotAuthorized)
        {
            // The broker's own refusal (a quota, an invalid topic name) says more than "not authorized".
            if (args.Packet is MqttPubAckPacket { ReasonCode: MqttPubAckReasonCode.Success or MqttPubAckReasonCode.NoMatchingSubscribers } refused)
                refused.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            else if (args.Packet is MqttPubRecPacket { ReasonCode: MqttPubRecReasonCode.Success or MqttPubRecReasonCode.NoMatchingSubscribers } refusedRec)
                refusedRec.ReasonCode = MqttPubRecReasonCode.NotAuthorized;
        }
        else if (outcome.AllRejected && outcome.OverQuota > 0)
        {
            // MQTT 5 clients learn to send again later (the edge agent keeps the batch and backs off).
            if (args.Packet is MqttPubAckPacket ack)
                ack.ReasonCode = MqttPubAckReasonCode.QuotaExceeded;
            else if (args.Packet is MqttPubRecPacket rec)
                rec.ReasonCode = MqttPubRecReasonCode.QuotaExceeded;
        }
        else if (outcome.AllRejected)
        {
            // MQTT 5 clients learn that the payload was refused (3.1.1 has no reason codes; the field is ignored).
            if (args.Packet is MqttPubAckPacket ack)
                ack.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
            else if (args.Packet is MqttPubRecPacket rec)
                rec.ReasonCode = MqttPubRecReasonCode.PayloadFormatInvalid;
        }
    }

    private static ConcurrentDictionary<ushort, Task<IngestOutcome>> PendingFor(IDictionary items) =>
        Pending.GetValue(items, static _ => new ConcurrentDictionary<ushort, Task<IngestOutcome>>());
}
