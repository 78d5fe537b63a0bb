using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using MQTTnet.Exceptions;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Closes an MQTT connection as soon as a packet header announces more bytes than the hub would ever accept.
/// MQTTnet buffers a packet until all of it has arrived, so without this a client announcing 256 MB and sending
/// slowly would hold up to the transport's buffer per connection until its keep-alive ran out. The limit is the
/// largest payload the hub takes plus room for a topic and MQTT 5 properties.
/// </summary>
internal static class MqttFrameLimit
{
    /// <summary>Room beside the payload: a topic (up to 64 KiB) and properties.</summary>
    public const int Overhead = 128 * 1024;

    public static int MaxRemainingLength(int maxPayloadBytes) => maxPayloadBytes + Overhead;

    /// <summary>Kestrel connection middleware for the MQTT listener.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(int maxRemainingLength) => next => connection =>
    {
        var transport = connection.Transport;
        connection.Transport = new GuardedPipe(new LimitedReader(transport.Input, maxRemainingLength), transport.Output);
        return next(connection);
    };

    /// <summary>
    /// Checks the packet at the start of what was read. Also ends a connection that the client closed in the middle
    /// of a packet: MQTTnet would otherwise read the same incomplete bytes again and again, spinning a core until
    /// its communication timeout (100 s before CONNECT).
    /// </summary>
    public static void Check(in ReadResult result, int max)
    {
        var buffer = result.Buffer;
        var remaining = RemainingLength(buffer, max, out var headerLength);
        if (!result.IsCompleted || buffer.IsEmpty)
            return;
        if (remaining < 0 || buffer.Length < headerLength + remaining)
            throw new MqttCommunicationException("the client closed the connection in the middle of a packet");
    }

    /// <summary>
    /// The remaining length of the packet at the start of <paramref name="buffer"/>: -1 while its header is
    /// incomplete; throws when the header is malformed or over <paramref name="max"/>.
    /// </summary>
    public static int RemainingLength(ReadOnlySequence<byte> buffer, int max, out int headerLength)
    {
        headerLength = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out _))
            return -1;
        var value = 0;
        for (var i = 0; i < 4; i++)
        {
            if (!reader.TryRead(out var digit))
                return -1;
            value |= (digit & 0x7F) << (7 * i);
            if ((digit & 0x80) == 0)
            {
                headerLength = i + 2;
                return value <= max
                    ? value
                    : throw new MqttProtocolViolationException($"a packet of {value} bytes is over the hub's limit of {max} (--max-payload-bytes plus {Overhead} for topic and properties)");
            }
        }

        throw new MqttProtocolViolationException("the packet's remaining length has more than 4 bytes");
    }

    private sealed class GuardedPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// MQTTnet consumes whole packets only, so every read starts at a packet's first byte: checking the header
    /// there sees every packet.
    /// </summary>
    private sealed class LimitedReader(PipeReader inner, int max) : PipeReader
    {
        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.ReadAsync(cancellationToken);
            Check(result, max);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
                return false;
            Check(result, max);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
