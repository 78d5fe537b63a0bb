using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Links;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Testing.Net;

namespace Grid.Edge.Hub.Replication.Tests.Links;

/// <summary>Real NetMQ sockets with CurveZMQ on 127.0.0.1: who gets a link, what flows on it, and when it goes.</summary>
public sealed class LinkHostTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>Who each test's hubs take for members; a test removes one to see it cut off.</summary>
    private readonly ConcurrentDictionary<Id128Key, MemberCertificate> _members = new();
    private readonly List<LinkHost> _hosts = [];

    public LinkHostTests()
    {
        for (var i = 0; i < 4; i++)
            _members[new Id128Key(TestGrid.Hubs[i].HubId)] = Certificate(TestGrid.Hubs[i]);
    }

    public void Dispose()
    {
        foreach (var host in _hosts)
            host.Dispose();
    }

    private readonly record struct Id128Key(Replication.Wire.Id128 Id);

    private static MemberCertificate Certificate(HubKeys hub) => new(hub.PublicKey.ToArray(), 0, hub.CurveKeyPair().Public, [""]);

    private LinkHost Start(int hub, TimeSpan? silence = null, TimeSpan? handshake = null)
    {
        var keys = TestGrid.Hubs[hub];
        var (secret, curve) = keys.CurveKeyPair();
        var host = new LinkHost(new LinkHostOptions
        {
            Self = new LinkHandshake.Self(keys, curve),
            CurveSecret = secret,
            Grid = () => TestGrid.Grid,
            Members = key => _members.TryGetValue(new Id128Key(HubKeys.HubIdOf(key)), out var c) && c.HubKey.AsSpan().SequenceEqual(key) ? c : null,
            PingInterval = TimeSpan.FromMilliseconds(200),
            SilenceTimeout = silence ?? TimeSpan.FromSeconds(3),
            HandshakeTimeout = handshake ?? TimeSpan.FromSeconds(10),
            FirstRetry = TimeSpan.FromMilliseconds(100),
            MaxRetry = TimeSpan.FromMilliseconds(400),
        });
        _hosts.Add(host);
        return host;
    }

    private static string AddressOf(LinkHost host) => $"127.0.0.1:{host.Port}";

    private static async Task<LinkEvent> NextAsync(LinkHost host, Func<LinkEvent, bool> wanted, string what)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            while (true)
            {
                var next = await host.Events.ReadAsync(timeout.Token);
                if (wanted(next))
                    return next;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {what} within {Deadline.TotalSeconds} s");
        }
    }

    [Fact]
    public async Task Two_members_link_up_and_messages_flow_both_ways()
    {
        var a = Start(0);
        var b = Start(1);
        a.Dial(AddressOf(b), TestGrid.Hubs[1].CurveKeyPair().Public);
        var upAtA = await NextAsync(a, e => e.Kind == LinkEventKind.Up, "link up at A");
        var upAtB = await NextAsync(b, e => e.Kind == LinkEventKind.Up, "link up at B");
        Assert.Equal(TestGrid.Hubs[1].HubId, upAtA.Peer);
        Assert.Equal(TestGrid.Hubs[0].HubId, upAtB.Peer);

        a.Send(upAtA.Peer, "from A"u8.ToArray());
        var atB = await NextAsync(b, e => e.Kind == LinkEventKind.Message, "A's message at B");
        Assert.Equal(TestGrid.Hubs[0].HubId, atB.Peer);
        Assert.Equal("from A", Encoding.UTF8.GetString(atB.Message!));
        b.Send(upAtB.Peer, "from B"u8.ToArray());
        Assert.Equal("from B", Encoding.UTF8.GetString((await NextAsync(a, e => e.Kind == LinkEventKind.Message, "B's message at A")).Message!));
    }

    [Fact]
    public async Task A_non_member_gets_no_link_and_is_told_why()
    {
        var member = Start(1);
        var outsider = Start(4);
        outsider.Dial(AddressOf(member), TestGrid.Hubs[1].CurveKeyPair().Public);

        // An attempt lost below the handshake is tried again; what ends the dial is the member's refusal, never a link.
        var refused = await NextAsync(outsider, e => e.Kind == LinkEventKind.Up || (e.Kind == LinkEventKind.Down && e.Detail.Contains("refused", StringComparison.Ordinal)), "the refusal");
        Assert.Equal(LinkEventKind.Down, refused.Kind);
        Assert.Contains("is not a member", refused.Detail, StringComparison.Ordinal);

        // The member's side saw the handshake fail (the positive signal), and no link came up before it.
        var atMember = await NextAsync(member, e => e.Kind != LinkEventKind.Message, "the member's verdict");
        Assert.Equal(LinkEventKind.Down, atMember.Kind);
        Assert.Contains("refused", atMember.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_link_pinned_to_another_key_never_comes_up()
    {
        var a = Start(0, handshake: TimeSpan.FromSeconds(1));
        var b = Start(1);
        a.Dial(AddressOf(b), TestGrid.Hubs[2].CurveKeyPair().Public); // B cannot complete a CURVE handshake for C's key
        var down = await NextAsync(a, e => e.Kind != LinkEventKind.Message, "the dial's outcome");
        Assert.Equal(LinkEventKind.Down, down.Kind);
        Assert.Contains("no answer", down.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_removed_member_is_cut_off_and_not_let_back_in()
    {
        var a = Start(0);
        var b = Start(1);
        a.Dial(AddressOf(b), TestGrid.Hubs[1].CurveKeyPair().Public);
        await NextAsync(b, e => e.Kind == LinkEventKind.Up, "link up at B");
        await NextAsync(a, e => e.Kind == LinkEventKind.Up, "link up at A");

        Assert.True(_members.TryRemove(new Id128Key(TestGrid.Hubs[0].HubId), out _));
        var cut = await NextAsync(b, e => e.Kind == LinkEventKind.Down, "A cut off at B");
        Assert.Equal(TestGrid.Hubs[0].HubId, cut.Peer);
        Assert.Equal("removed from the grid", cut.Detail);

        // A, told or timing out, redials: B refuses it for good.
        var refused = await NextAsync(a, e => e.Kind == LinkEventKind.Down && e.Detail.Contains("refused this hub", StringComparison.Ordinal), "A's redial refused");
        Assert.Contains("is not a member", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cut_link_is_noticed_and_comes_back_when_the_network_does()
    {
        var a = Start(0, silence: TimeSpan.FromSeconds(1));
        var b = Start(1, silence: TimeSpan.FromSeconds(1));
        await using var proxy = new TcpFaultProxy(new IPEndPoint(IPAddress.Loopback, b.Port));
        a.Dial(proxy.Address, TestGrid.Hubs[1].CurveKeyPair().Public);
        await NextAsync(a, e => e.Kind == LinkEventKind.Up, "link up");

        proxy.Cut();
        var down = await NextAsync(a, e => e.Kind == LinkEventKind.Down, "the cut noticed");
        Assert.Equal(TestGrid.Hubs[1].HubId, down.Peer);
        proxy.Restore();
        var again = await NextAsync(a, e => e.Kind == LinkEventKind.Up, "the link back");
        Assert.Equal(TestGrid.Hubs[1].HubId, again.Peer);
        Assert.True(proxy.Connections >= 2);

        a.Send(again.Peer, "after the partition"u8.ToArray());
        Assert.Equal("after the partition", Encoding.UTF8.GetString((await NextAsync(b, e => e.Kind == LinkEventKind.Message, "the message after healing")).Message!));
    }

    [Fact]
    public void A_hub_of_the_previous_grid_protocol_is_told_in_its_own_protocol_to_upgrade()
    {
        var b = Start(1);
        var (secret, _) = TestGrid.Hubs[0].CurveKeyPair();
        using var old = new NetMQ.Sockets.DealerSocket();
        old.Options.CurveServerKey = TestGrid.Hubs[1].CurveKeyPair().Public;
        old.Options.CurveCertificate = NetMQ.NetMQCertificate.CreateFromSecretKey(secret);
        old.Options.Linger = TimeSpan.Zero;
        old.Connect("tcp://" + AddressOf(b));
        byte[] hello = [.. "GEL1"u8, 1, .. new byte[16 + 32 + 32 + 32]];
        NetMQ.OutgoingSocketExtensions.SendFrame(old, hello);
        Assert.True(NetMQ.ReceivingSocketExtensions.TryReceiveFrameBytes(old, Deadline, out var reply), "no answer to an old Hello");
        Assert.Equal("GEL1"u8.ToArray(), reply![..4]);
        Assert.Equal((byte)LinkMessageKind.Refused, reply[4]);
        var reason = Encoding.UTF8.GetString(reply, 6, reply[5]);
        Assert.Contains($"speaks grid protocol {LinkHandshake.Protocol}, this one 1: upgrade this hub", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hub_that_dials_one_of_the_previous_grid_protocol_says_which_to_upgrade()
    {
        var a = Start(0);
        var (secret, curve) = TestGrid.Hubs[1].CurveKeyPair();
        using var old = new NetMQ.Sockets.RouterSocket();
        old.Options.CurveServer = true;
        old.Options.CurveCertificate = NetMQ.NetMQCertificate.CreateFromSecretKey(secret);
        old.Options.Linger = TimeSpan.Zero;
        var port = old.BindRandomPort("tcp://127.0.0.1");

        // What a hub of the previous release answers to anything it cannot read before a handshake.
        var answering = Task.Run(() =>
        {
            var routing = NetMQ.ReceivingSocketExtensions.ReceiveFrameBytes(old);
            NetMQ.ReceivingSocketExtensions.ReceiveFrameBytes(old);
            var refusal = new List<byte>([.. "GEL1"u8, (byte)LinkMessageKind.Refused]);
            var text = "no message passes before the handshake"u8.ToArray();
            refusal.Add((byte)text.Length);
            refusal.AddRange(text);
            NetMQ.OutgoingSocketExtensions.SendMoreFrame(old, routing);
            NetMQ.OutgoingSocketExtensions.SendFrame(old, [.. refusal]);
        });
        a.Dial($"127.0.0.1:{port}", curve);
        var down = await NextAsync(a, e => e.Kind != LinkEventKind.Message, "the dial's outcome");
        await answering;
        Assert.Equal(LinkEventKind.Down, down.Kind);
        Assert.True(down.RefusedByPeer);
        Assert.Contains($"speaks grid protocol 1, this one {LinkHandshake.Protocol}: upgrade that hub", down.Detail, StringComparison.Ordinal);
    }
}
