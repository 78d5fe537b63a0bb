using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// A load generator for W1 that is not the bottleneck: MQTT 3.1.1 over a bare socket, every PUBLISH packet built
/// into one buffer before the clock starts. QoS 0 is written in large pipelined sends; QoS 1 keeps a fixed window of
/// unacknowledged packets in flight and sends as many as the window allows in one write. The subscriber only frames
/// packets, counts PUBLISHes and acknowledges QoS 1 ones in one write per read. (An MQTTnet client tops out near
/// 45 k msg/s QoS 0 here, below what Mosquitto takes: DESIGN.md section 7.)
/// </summary>
internal sealed class RawMqttClient : IDisposable
{
    private const byte Connect = 0x10, ConnAck = 0x20, Publish = 0x30, PubAck = 0x40, Subscribe = 0x82, SubAck = 0x90;

    private readonly Socket _socket;

    private RawMqttClient(Socket socket) => _socket = socket;

    public static async Task<RawMqttClient> ConnectAsync(int port, string clientId)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 1 << 20, SendBufferSize = 1 << 20 };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var client = new RawMqttClient(socket);
        var id = Encoding.ASCII.GetBytes(clientId);
        var body = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, 0, 0 }; // 3.1.1, clean session, no keep-alive
        body.Add((byte)(id.Length >> 8));
        body.Add((byte)id.Length);
        body.AddRange(id);
        await socket.SendAsync(Packet(Connect, [.. body]));
        var ack = await client.ReadExactlyAsync(4);
        if (ack[0] != ConnAck || ack[3] != 0)
            throw new InvalidOperationException($"the broker refused the connection (CONNACK {Convert.ToHexString(ack)})");
        return client;
    }

    /// <summary>PUBLISH packets for every payload, back to back; QoS 1 packets carry ids 1..65535 in turn.</summary>
    public static (byte[] Buffer, int[] Ends) BuildPublishes(string topic, IReadOnlyList<byte[]> payloads, int qos)
    {
        var topicBytes = Encoding.UTF8.GetBytes(topic);
        var stream = new MemoryStream();
        var ends = new int[payloads.Count];
        for (var i = 0; i < payloads.Count; i++)
        {
            var variable = new List<byte>(topicBytes.Length + 4) { (byte)(topicBytes.Length >> 8), (byte)topicBytes.Length };
            variable.AddRange(topicBytes);
            if (qos == 1)
            {
                var id = (i % 65535) + 1;
                variable.Add((byte)(id >> 8));
                variable.Add((byte)id);
            }

            variable.AddRange(payloads[i]);
            stream.Write(Packet((byte)(Publish | (qos << 1)), [.. variable]));
            ends[i] = (int)stream.Length;
        }

        return (stream.ToArray(), ends);
    }

    /// <summary>QoS 0: writes every packet in large sends; returns once the last byte is handed to the kernel.</summary>
    public async Task SendAllAsync(byte[] buffer)
    {
        const int chunk = 256 * 1024;
        for (var offset = 0; offset < buffer.Length; offset += chunk)
            await _socket.SendAsync(buffer.AsMemory(offset, Math.Min(chunk, buffer.Length - offset)));
    }

    /// <summary>QoS 1: at most <paramref name="window"/> packets unacknowledged; returns when every PUBACK is in.</summary>
    public async Task SendWindowedAsync(byte[] buffer, int[] ends, int window)
    {
        var acked = 0;
        var ackSignal = new SemaphoreSlim(0);
        var reading = Task.Run(async () =>
        {
            var pending = new byte[64 * 1024];
            var filled = 0;
            while (Volatile.Read(ref acked) < ends.Length)
            {
                var read = await _socket.ReceiveAsync(pending.AsMemory(filled));
                if (read == 0)
                    throw new InvalidOperationException($"the broker closed the connection after {acked:N0} PUBACKs");
                filled += read;
                var used = Frames(pending.AsSpan(0, filled), (type, _) =>
                {
                    if (type == PubAck)
                        Interlocked.Increment(ref acked);
                });
                pending.AsSpan(used, filled - used).CopyTo(pending);
                filled -= used;
                ackSignal.Release();
            }
        });

        var sent = 0;
        while (sent < ends.Length)
        {
            var room = window - (sent - Volatile.Read(ref acked));
            if (room <= 0)
            {
                await Task.WhenAny(ackSignal.WaitAsync(), reading);
                if (reading.IsFaulted)
                    await reading;
                continue;
            }

            var last = Math.Min(ends.Length, sent + room) - 1;
            var from = sent == 0 ? 0 : ends[sent - 1];
            await _socket.SendAsync(buffer.AsMemory(from, ends[last] - from));
            sent = last + 1;
        }

        await reading;
    }

    /// <summary>Subscribes, then counts PUBLISH packets until told to stop, acknowledging QoS 1 ones.</summary>
    public async Task SubscribeAsync(string topic, int qos)
    {
        var topicBytes = Encoding.UTF8.GetBytes(topic);
        var body = new List<byte> { 0, 1, (byte)(topicBytes.Length >> 8), (byte)topicBytes.Length };
        body.AddRange(topicBytes);
        body.Add((byte)qos);
        await _socket.SendAsync(Packet(Subscribe, [.. body]));
        var ack = await ReadExactlyAsync(5);
        if (ack[0] != SubAck || ack[4] > 2)
            throw new InvalidOperationException($"the broker refused the subscription (SUBACK {Convert.ToHexString(ack)})");
    }

    private long _received;

    public long Received => Interlocked.Read(ref _received);

    /// <summary>Reads until <paramref name="stop"/>; counts PUBLISHes, acknowledging QoS 1 ones in one write per read.</summary>
    public async Task CountAsync(CancellationToken stop)
    {
        var pending = new byte[256 * 1024];
        var acks = new byte[pending.Length];
        var filled = 0;
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(pending.AsMemory(filled), stop);
                if (read == 0)
                    return;
                filled += read;
                var ackBytes = 0;
                var count = 0;
                var used = Frames(pending.AsSpan(0, filled), (type, packet) =>
                {
                    if ((type & 0xF0) != Publish)
                        return;
                    count++;
                    if ((type & 0x06) == 0x02)
                    {
                        // The packet id follows the topic; a PUBACK carries it back.
                        var topicLength = BinaryPrimitives.ReadUInt16BigEndian(packet);
                        acks[ackBytes] = PubAck;
                        acks[ackBytes + 1] = 2;
                        acks[ackBytes + 2] = packet[2 + topicLength];
                        acks[ackBytes + 3] = packet[3 + topicLength];
                        ackBytes += 4;
                    }
                });
                Interlocked.Add(ref _received, count);
                if (ackBytes > 0)
                    await _socket.SendAsync(acks.AsMemory(0, ackBytes), stop);
                pending.AsSpan(used, filled - used).CopyTo(pending);
                filled -= used;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public void Dispose() => _socket.Dispose();

    private delegate void PacketHandler(byte type, ReadOnlySpan<byte> body);

    /// <summary>Hands every whole packet in <paramref name="data"/> to <paramref name="handle"/>; the bytes used.</summary>
    private static int Frames(ReadOnlySpan<byte> data, PacketHandler handle)
    {
        var offset = 0;
        while (offset + 2 <= data.Length)
        {
            int length = 0, shift = 0, at = offset + 1;
            bool complete;
            while ((complete = at < data.Length) && (data[at] & 0x80) != 0)
            {
                length |= (data[at] & 0x7F) << shift;
                shift += 7;
                at++;
            }

            if (!complete)
                break;
            length |= data[at] << shift;
            at++;
            if (at + length > data.Length)
                break;
            handle(data[offset], data.Slice(at, length));
            offset = at + length;
        }

        return offset;
    }

    private static byte[] Packet(byte type, byte[] body)
    {
        var header = new List<byte> { type };
        var length = body.Length;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            header.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        return [.. header, .. body];
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await _socket.ReceiveAsync(buffer.AsMemory(read));
            if (n == 0)
                throw new InvalidOperationException("the broker closed the connection");
            read += n;
        }

        return buffer;
    }
}
