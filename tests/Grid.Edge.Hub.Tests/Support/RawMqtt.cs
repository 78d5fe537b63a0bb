using System.Net;
using System.Net.Sockets;
using System.Text;
using Grid.Edge.Testing.Mqtt;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>
/// MQTT 3.1.1 written by hand on a plain socket: a device whose connection can be dropped abruptly, the way a
/// microcontroller losing power drops it, and packets no well-behaved library would send.
/// </summary>
internal static class RawMqtt
{
    public static async Task<Socket> ConnectWithWillAsync(IPEndPoint broker, string clientId, string willTopic, string willMessage, string? user = null, string? password = null, bool willRetain = true)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(broker);
            await socket.SendAsync(MqttWire.Connect(clientId, user, password, (willTopic, Encoding.UTF8.GetBytes(willMessage), willRetain)));
            var code = await ReadConnAckAsync(socket);
            if (code != 0)
                throw new ConnectRefusedException(code);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The CONNACK return code (0 accepted); throws when the broker closes first.</summary>
    public static async Task<int> ReadConnAckAsync(Socket socket)
    {
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

        if (connack[0] != 0x20)
            throw new IOException($"Expected CONNACK, got packet type 0x{connack[0]:x2}.");
        return connack[3];
    }
}

/// <summary>The broker answered CONNECT with a non-zero return code (3.1.1: 2 identifier rejected, 4 bad credentials, 5 not authorized).</summary>
internal sealed class ConnectRefusedException(int code) : IOException($"CONNACK refused: return code {code}")
{
    public int Code { get; } = code;
}
