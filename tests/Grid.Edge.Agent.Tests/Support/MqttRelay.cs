using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Agent.Tests.Support;

/// <summary>The PUBLISH whose PUBACK the relay dropped: its topic and payload as the client sent them.</summary>
internal sealed record DroppedAck(string Topic, byte[] Payload);

/// <summary>
/// A TCP relay between MQTT clients and a broker on 127.0.0.1, listening on a port it keeps for its whole life (so a
/// test can stop and start brokers behind one address without reusing a port number). It frames the MQTT packets
/// going through, and can drop the PUBACK of a chosen PUBLISH and cut that connection at once: the broker has
/// handled the message, the client never hears so.
/// </summary>
internal sealed class MqttRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _accepting;
    private string? _dropTopicSuffix;
    private int _dropCountdown;

    public MqttRelay(IPEndPoint? target)
    {
        Target = target;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Where connections go; null: the broker is "down" and connections are closed at once.</summary>
    public IPEndPoint? Target { get; set; }

    /// <summary>Completes when a PUBACK was dropped.</summary>
    public TaskCompletionSource<DroppedAck> AckDropped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Drops the PUBACK of the <paramref name="nth"/> QoS 1 PUBLISH (from now) on a topic ending in
    /// <paramref name="topicSuffix"/>, cuts that connection, and sets <see cref="Target"/> to null so that the client
    /// cannot come back until the test lets it.
    /// </summary>
    public void DropAck(string topicSuffix, int nth)
    {
        _dropTopicSuffix = topicSuffix;
        _dropCountdown = nth;
    }

    /// <summary>Closes every relayed connection.</summary>
    public void CutAll()
    {
        foreach (var socket in _open.Keys)
            socket.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var target = Target;
        if (target is null)
        {
            client.Dispose();
            return;
        }

        var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await broker.ConnectAsync(target, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Dispose();
            broker.Dispose();
            return;
        }

        _open[client] = 0;
        _open[broker] = 0;
        var connection = new Connection(client, broker);
        try
        {
            await Task.WhenAny(ClientToBrokerAsync(connection), BrokerToClientAsync(connection));
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(broker, out _);
            client.Dispose();
            broker.Dispose();
        }
    }

    /// <summary>One relayed connection: the QoS 1 PUBLISHes in flight by packet id, and the protocol level.</summary>
    private sealed class Connection(Socket client, Socket broker)
    {
        public Socket Client { get; } = client;

        public Socket Broker { get; } = broker;

        public ConcurrentDictionary<int, (string Topic, byte[] Payload, bool Drop)> InFlight { get; } = new();

        public int ProtocolLevel { get; set; } = 4;
    }

    private async Task ClientToBrokerAsync(Connection connection)
    {
        while (await ReadPacketAsync(connection.Client) is { } packet)
        {
            Inspect(connection, packet);
            await connection.Broker.SendAsync(packet, SocketFlags.None);
        }
    }

    private async Task BrokerToClientAsync(Connection connection)
    {
        while (await ReadPacketAsync(connection.Broker) is { } packet)
        {
            if (Dropped(connection, packet))
                return;
            await connection.Client.SendAsync(packet, SocketFlags.None);
        }
    }

    /// <summary>Notes the protocol level from CONNECT and every QoS 1 PUBLISH by its packet id.</summary>
    private void Inspect(Connection connection, byte[] packet)
    {
        var type = packet[0] >> 4;
        var body = Body(packet);
        if (type == 1 && body.Length > 6)
            connection.ProtocolLevel = body[6]; // CONNECT: "MQTT", then the protocol level
        if (type != 3 || ((packet[0] >> 1) & 3) != 1)
            return;
        var topicLength = (body[0] << 8) | body[1];
        var topic = Encoding.UTF8.GetString(body.Slice(2, topicLength));
        var at = 2 + topicLength;
        var id = (body[at] << 8) | body[at + 1];
        at += 2;
        if (connection.ProtocolLevel == 5)
        {
            var (propertiesLength, size) = ReadVarint(body[at..]);
            at += size + propertiesLength;
        }

        var drop = _dropTopicSuffix is { } suffix && topic.EndsWith(suffix, StringComparison.Ordinal) && Interlocked.Decrement(ref _dropCountdown) == 0;
        connection.InFlight[id] = (topic, body[at..].ToArray(), drop);
    }

    /// <summary>True for the PUBACK to drop: the broker has the message and acknowledged it; the client never knows.</summary>
    private bool Dropped(Connection connection, byte[] packet)
    {
        if (packet[0] >> 4 != 4)
            return false;
        var body = Body(packet);
        var id = (body[0] << 8) | body[1];
        if (!connection.InFlight.TryRemove(id, out var publish) || !publish.Drop)
            return false;
        Target = null;
        AckDropped.TrySetResult(new DroppedAck(publish.Topic, publish.Payload));
        return true;
    }

    /// <summary>The bytes after the fixed header.</summary>
    private static ReadOnlySpan<byte> Body(byte[] packet)
    {
        var (_, size) = ReadVarint(packet.AsSpan(1));
        return packet.AsSpan(1 + size);
    }

    private static (int Value, int Size) ReadVarint(ReadOnlySpan<byte> data)
    {
        int value = 0, shift = 0, i = 0;
        while (true)
        {
            var b = data[i++];
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return (value, i);
            shift += 7;
        }
    }

    /// <summary>A whole MQTT packet (fixed header included), or null when the connection closed.</summary>
    private static async Task<byte[]?> ReadPacketAsync(Socket socket)
    {
        var header = new List<byte>(5);
        var one = new byte[1];
        try
        {
            if (!await ReadExactlyAsync(socket, one))
                return null;
            header.Add(one[0]);
            int length = 0, shift = 0;
            do
            {
                if (!await ReadExactlyAsync(socket, one))
                    return null;
                header.Add(one[0]);
                length |= (one[0] & 0x7F) << shift;
                shift += 7;
            }
            while ((one[0] & 0x80) != 0);
            var packet = new byte[header.Count + length];
            header.CopyTo(packet);
            return await ReadExactlyAsync(socket, packet.AsMemory(header.Count)) ? packet : null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0)
                return false;
            buffer = buffer[read..];
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _accepting;
        _stop.Dispose();
    }
}
