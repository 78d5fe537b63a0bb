using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Testing.Mqtt;

/// <summary>MQTT 3.1.1 packets built by hand, so that tests can send what no library would.</summary>
internal static class MqttWire
{
    /// <summary>A CONNECT: keep-alive 60 s, optional credentials and will (QoS 1).</summary>
    public static byte[] Connect(string clientId, string? user = null, string? password = null, (string Topic, byte[] Message, bool Retain)? will = null, bool cleanSession = true) =>
        Connect(Encoding.UTF8.GetBytes(clientId), user, password, will, cleanSession);

    public static byte[] Connect(byte[] clientId, string? user = null, string? password = null, (string Topic, byte[] Message, bool Retain)? will = null, bool cleanSession = true)
    {
        var body = new List<byte>();
        AddString(body, "MQTT");
        body.Add(4); // protocol level 3.1.1
        var flags = cleanSession ? 0x02 : 0;
        if (will is { } w)
            flags |= 0x04 | 0x08 | (w.Retain ? 0x20 : 0);
        if (user is not null)
            flags |= 0x80;
        if (password is not null)
            flags |= 0x40;
        body.Add((byte)flags);
        body.AddRange([0, 60]);
        AddBytes(body, clientId);
        if (will is { } willParts)
        {
            AddString(body, willParts.Topic);
            AddBytes(body, willParts.Message);
        }

        if (user is not null)
            AddString(body, user);
        if (password is not null)
            AddString(body, password);
        return Frame(0x10, body);
    }

    public static byte[] Publish(string topic, byte[] payload, int qos = 0, bool retain = false, ushort packetId = 1) =>
        Publish(Encoding.UTF8.GetBytes(topic), payload, qos, retain, packetId);

    public static byte[] Publish(byte[] topic, byte[] payload, int qos = 0, bool retain = false, ushort packetId = 1)
    {
        var body = new List<byte>();
        AddBytes(body, topic);
        if (qos > 0)
            body.AddRange([(byte)(packetId >> 8), (byte)packetId]);
        body.AddRange(payload);
        return Frame((byte)(0x30 | (qos << 1) | (retain ? 1 : 0)), body);
    }

    public static byte[] Subscribe(byte[] filter, ushort packetId = 1, int qos = 0)
    {
        var body = new List<byte> { (byte)(packetId >> 8), (byte)packetId };
        AddBytes(body, filter);
        body.Add((byte)qos);
        return Frame(0x82, body);
    }

    public static byte[] Frame(byte header, IReadOnlyCollection<byte> body)
    {
        var packet = new List<byte>(body.Count + 5) { header };
        packet.AddRange(RemainingLength(body.Count));
        packet.AddRange(body);
        return packet.ToArray();
    }

    public static byte[] RemainingLength(int length)
    {
        var bytes = new List<byte>(4);
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            bytes.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        return bytes.ToArray();
    }

    private static void AddString(List<byte> buffer, string text) => AddBytes(buffer, Encoding.UTF8.GetBytes(text));

    private static void AddBytes(List<byte> buffer, byte[] bytes)
    {
        buffer.Add((byte)(bytes.Length >> 8));
        buffer.Add((byte)bytes.Length);
        buffer.AddRange(bytes);
    }
}

/// <summary>
/// Throws broken MQTT at a broker over TCP, seeded so that a run can be repeated: bad first packets, truncated and
/// oversize remaining lengths, malformed length fields, invalid UTF-8 in client ids and topics, wildcards in topic
/// names, and valid sessions whose packets are mutated (bytes flipped, inserted, deleted, cut short). Each
/// connection writes its packets in one go and closes; the broker must survive all of it.
/// </summary>
internal sealed class MqttFuzzer(IPEndPoint broker, int seed, IPAddress? from = null)
{
    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x00], [0xC0, 0xAF],
    ];

    private long _packets;
    private long _connections;
    private long _bytes;
    private long _refusedConnects;

    /// <summary>Packets written (a packet cut short or a garbage chunk counts as one).</summary>
    public long Packets => Interlocked.Read(ref _packets);

    public long Connections => Interlocked.Read(ref _connections);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Connections the broker would not even accept (TCP connect refused).</summary>
    public long RefusedConnects => Interlocked.Read(ref _refusedConnects);

    /// <summary>Sends at least <paramref name="packets"/> packets over <paramref name="parallel"/> connections at a time.</summary>
    public async Task RunAsync(long packets, int parallel, CancellationToken cancellationToken = default)
    {
        var workers = Enumerable.Range(0, parallel).Select(w => Task.Run(() => WorkAsync(w, packets, cancellationToken), cancellationToken));
        await Task.WhenAll(workers);
    }

    private async Task WorkAsync(int worker, long target, CancellationToken cancellationToken)
    {
        var random = new Random(HashCode.Combine(seed, worker));
        var n = 0;
        while (Interlocked.Read(ref _packets) < target && !cancellationToken.IsCancellationRequested)
        {
            var (bytes, count) = Connection(random, worker, n++);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
            var connected = false;
            try
            {
                if (from is not null)
                    socket.Bind(new IPEndPoint(from, 0));
                await socket.ConnectAsync(broker, cancellationToken);
                connected = true;
                Interlocked.Increment(ref _connections);
                await socket.SendAsync(bytes, cancellationToken);
                Interlocked.Add(ref _packets, count);
                Interlocked.Add(ref _bytes, bytes.Length);

                // Half the time read whatever comes back (CONNACK, SUBACK, PUBACK) for a moment, so the broker
                // writes to live sockets too; otherwise hang up at once, mid-packet for the broker.
                if (random.Next(2) == 0)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    var sink = new byte[4096];
                    using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    linger.CancelAfter(TimeSpan.FromMilliseconds(200));
                    try
                    {
                        while (await socket.ReceiveAsync(sink, linger.Token) > 0)
                        {
                        }
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                    }
                }
            }
            catch (SocketException)
            {
                // After connecting, a reset is the broker hanging up on broken input: expected.
                if (!connected)
                    Interlocked.Increment(ref _refusedConnects);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One connection's bytes and how many packets they hold.</summary>
    private static (byte[] Bytes, int Packets) Connection(Random random, int worker, int n)
    {
        var clientId = $"fz-{worker}-{n}";
        switch (random.Next(10))
        {
            case 0:
                // A first packet that is not CONNECT: garbage, or a valid PUBLISH / PINGREQ / SUBSCRIBE.
                return random.Next(4) switch
                {
                    0 => (RandomBytes(random, random.Next(1, 64)), 1),
                    1 => (MqttWire.Publish("grid/fuzz/temperature", "1"u8.ToArray()), 1),
                    2 => ([0xC0, 0x00], 1),
                    _ => (MqttWire.Subscribe("#"u8.ToArray()), 1),
                };
            case 1:
                // A CONNECT cut short: the length promises more than is sent.
                var connect = MqttWire.Connect(clientId);
                return (connect[..random.Next(1, connect.Length)], 1);
            case 2:
                // An oversize remaining length (up to the 268 MB the field allows), with a little of the body.
                byte[] header = random.Next(2) == 0 ? [0x10, 0xFF, 0xFF, 0xFF, 0x7F] : [0x30, .. MqttWire.RemainingLength(random.Next(300_000, 268_435_455))];
                return ([.. header, .. RandomBytes(random, random.Next(0, 512))], 1);
            case 3:
                // A remaining length of five bytes (at most four are allowed).
                return ([0x10, 0x80, 0x80, 0x80, 0x80, 0x01, .. RandomBytes(random, 8)], 1);
            case 4:
                // Invalid UTF-8 in the client id.
                return (MqttWire.Connect(Pick(random, InvalidUtf8)), 1);
            case 5:
                // A protocol level the hub does not speak, or reserved flag bits set.
                var bad = MqttWire.Connect(clientId);
                bad[random.Next(2) == 0 ? 8 : 9] = (byte)random.Next(256);
                return (bad, 1);
            default:
                return Session(random, clientId);
        }
    }

    /// <summary>A valid CONNECT followed by a burst of packets, some valid, some broken, some mutated.</summary>
    private static (byte[] Bytes, int Packets) Session(Random random, string clientId)
    {
        var stream = new List<byte>(MqttWire.Connect(clientId));
        var count = random.Next(20, 120);
        for (var i = 0; i < count; i++)
        {
            var packet = random.Next(12) switch
            {
                0 => MqttWire.Publish(Pick(random, InvalidUtf8), "1"u8.ToArray()),
                1 => MqttWire.Publish("grid/fuzz/#", "1"u8.ToArray()),
                2 => MqttWire.Subscribe(random.Next(2) == 0 ? "$SYS/#"u8.ToArray() : Pick(random, InvalidUtf8)),
                3 => [0xC0, 0x00],
                4 => MqttWire.Publish($"cmnd/fuzz{random.Next(4)}/POWER", RandomBytes(random, random.Next(0, 64)), random.Next(2), retain: random.Next(8) == 0, packetId: (ushort)(i + 1)),
                5 => Mutate(random, MqttWire.Publish($"grid/fuzz-{random.Next(4)}/m{random.Next(4)}", Encoding.ASCII.GetBytes(random.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture)), random.Next(2), packetId: (ushort)(i + 1))),
                6 => Mutate(random, MqttWire.Subscribe(Encoding.ASCII.GetBytes($"grid/fuzz-{random.Next(4)}/#"), (ushort)(i + 1))),
                _ => MqttWire.Publish($"grid/fuzz-{random.Next(4)}/m{random.Next(4)}", Encoding.ASCII.GetBytes(random.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture)), random.Next(2), packetId: (ushort)(i + 1)),
            };
            stream.AddRange(packet);
        }

        return (stream.ToArray(), count + 1);
    }

    private static byte[] Mutate(Random random, byte[] packet)
    {
        var bytes = new List<byte>(packet);
        switch (random.Next(4))
        {
            case 0:
                var at = random.Next(bytes.Count);
                bytes[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                bytes.Insert(random.Next(bytes.Count + 1), (byte)random.Next(256));
                break;
            case 2:
                bytes.RemoveAt(random.Next(bytes.Count));
                break;
            default:
                var keep = random.Next(1, bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                break;
        }

        return bytes.ToArray();
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
