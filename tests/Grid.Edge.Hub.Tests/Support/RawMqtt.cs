using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>
/// MQTT 3.1.1 written by hand on a plain socket: a device whose connection can be dropped abruptly, the way a
/// microcontroller losing power drops it.
/// </summary>
internal static class RawMqtt
{
    public static async Task<Socket> ConnectWithWillAsync(IPEndPoint broker, string clientId, string willTopic, string willMessage)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(broker);
        var body = new List<byte>();
        AddString(body, "MQTT");
        body.Add(4); // protocol level 3.1.1
        body.Add(0x02 | 0x04 | 0x08 | 0x20); // clean session, will, will QoS 1, will retain
        body.AddRange([0, 60]); // keep alive 60 s
        AddString(body, clientId);
        AddString(body, willTopic);
        AddString(body, willMessage);
        var packet = new List<byte> { 0x10 };
        var length = body.Count;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            packet.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        packet.AddRange(body);
        await socket.SendAsync(packet.ToArray());

        var connack = new byte[4];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (read < 4)
        {
            var n = await socket.ReceiveAsync(connack.AsMemory(read), timeout.Token);
            if (n == 0)
                throw new IOException("The broker closed the connection before CONNACK.");
            read += n;
        }

        if (connack[0] != 0x20 || connack[3] != 0)
            throw new IOException($"CONNACK refused: return code {connack[3]}");
        return socket;
    }

    private static void AddString(List<byte> buffer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        buffer.Add((byte)(bytes.Length >> 8));
        buffer.Add((byte)bytes.Length);
        buffer.AddRange(bytes);
    }
}
