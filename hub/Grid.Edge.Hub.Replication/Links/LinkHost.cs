using System.Threading.Channels;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetMQ;
using NetMQ.Sockets;

namespace Grid.Edge.Hub.Replication.Links;

internal sealed class LinkHostOptions
{
    public required LinkHandshake.Self Self { get; init; }

    /// <summary>This hub's CURVE secret key (its public half is <see cref="LinkHandshake.Self.CurveKey"/>).</summary>
    public required byte[] CurveSecret { get; init; }

    /// <summary>The grid this hub is in now, or null while it is in none (every Hello is refused then).</summary>
    public required Func<Id128?> Grid { get; init; }

    /// <summary>Asked at every handshake and every second after: a peer that stops being a member is cut off.</summary>
    public required LinkHandshake.MemberLookup Members { get; init; }

    /// <summary>Whether a hub that is not a member may join with an invitation (see <see cref="Admit"/>); null: no one joins here.</summary>
    public LinkHandshake.JoinCheck? Joins { get; init; }

    /// <summary>Spends the invitation and adds the joiner once it proved its key; returns why it was refused, or null.</summary>
    public Func<JoinTicket, Membership.MemberCertificate, string?>? Admit { get; init; }

    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>0: a port the system chooses (read <see cref="LinkHost.Port"/>).</summary>
    public int Port { get; init; }

    public TimeSpan PingInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>An established link with nothing heard for this long is dropped (pings keep a quiet one alive).</summary>
    public TimeSpan SilenceTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A handshake not finished in this time is given up and tried again on a new connection (NetMQ does not always
    /// come back from a failed CURVE handshake by itself). Longer than the silence allowed on a link: a busy Pi doing
    /// CURVE and Ed25519 beside its other work must not lose every attempt to a tight timer.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest frame taken from anyone, before or after the handshake (a day of one series' raw chunk is far less).</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;
}

internal enum LinkEventKind
{
    Up,
    Down,
    Message,
}

/// <param name="Peer">The member at the other end (default while a handshake failed before it said who it is).</param>
/// <param name="Detail">For Down, why; for Up, the direction and address.</param>
/// <param name="Address">For Up and Down of a dialled link, the address dialled.</param>
/// <param name="RefusedByPeer">For Down, whether the other hub refused this one (its reason is in the detail), not a lost or timed-out connection.</param>
internal sealed record LinkEvent(LinkEventKind Kind, Id128 Peer, string Detail, byte[]? Message = null, bool RefusedByPeer = false, string? Address = null);

/// <summary>
/// The grid's links over NetMQ with CurveZMQ: one thread (its poller) owns every socket. Other hubs connect to a
/// ROUTER bound on the grid port; this hub dials members with a DEALER per address, pinned to the CURVE key the
/// member's certificate (or an invitation) names. No message but the handshake's passes before a peer proved it is
/// a member (<see cref="LinkHandshake"/>); a peer that stops being a member or falls silent is dropped, and dialled
/// links come back with backoff. Events arrive on <see cref="Events"/> in order.
/// </summary>
internal sealed class LinkHost : IDisposable
{
    private static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(1);
    private readonly LinkHostOptions _options;
    private readonly ILogger _logger;
    private readonly NetMQPoller _poller;
    private readonly RouterSocket _router;
    private readonly NetMQQueue<Action> _commands = new();
    private readonly NetMQTimer _timer;
    private readonly Channel<LinkEvent> _events = Channel.CreateUnbounded<LinkEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<string, Inbound> _inbound = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Outbound> _outbound = new(StringComparer.Ordinal);
    private readonly NetMQCertificate _certificate;
    private DateTime _protocolWarnedAt = DateTime.MinValue;

    public LinkHost(LinkHostOptions options, ILogger? logger = null)
    {
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _certificate = NetMQCertificate.CreateFromSecretKey(options.CurveSecret);
        if (!_certificate.PublicKey.AsSpan().SequenceEqual(options.Self.CurveKey))
            throw new ArgumentException("the CURVE secret key does not belong to the public key this hub's certificate names", nameof(options));
        _router = new RouterSocket();
        _router.Options.CurveServer = true;
        _router.Options.CurveCertificate = _certificate;
        _router.Options.Linger = TimeSpan.Zero;
        _router.Options.MaxMsgSize = options.MaxMessageBytes;
        _router.Options.RouterMandatory = false; // at its high-water mark a ROUTER drops instead of blocking the poller
        var endpoint = $"tcp://{(options.BindAddress.Contains(':', StringComparison.Ordinal) ? $"[{options.BindAddress}]" : options.BindAddress)}";
        Port = options.Port == 0 ? _router.BindRandomPort(endpoint) : Bind(endpoint, options.Port);
        _router.ReceiveReady += (_, e) => OnRouterMessage(e.Socket);
        _commands.ReceiveReady += (_, e) =>
        {
            while (e.Queue.TryDequeue(out var command, TimeSpan.Zero))
                command();
        };
        _timer = new NetMQTimer(options.PingInterval);
        _timer.Elapsed += (_, _) => OnTick();
        _poller = [_router, _commands, _timer];
        _poller.RunAsync("grid links");
    }

    /// <summary>The port the grid listens on.</summary>
    public int Port { get; }

    public ChannelReader<LinkEvent> Events => _events.Reader;

    /// <summary>
    /// Keeps a link to <paramref name="address"/> (host:port), whose hub must hold the CURVE key given; with a
    /// <paramref name="ticket"/>, this hub joins the grid there with an invitation. An address may be dialled with
    /// several keys at once (a configured peer whose hub is not known yet): only the right one completes.
    /// </summary>
    public void Dial(string address, byte[] serverCurveKey, JoinTicket? ticket = null) => _commands.Enqueue(() =>
    {
        var key = OutboundKey(address, serverCurveKey);
        if (!_outbound.ContainsKey(key))
            _outbound[key] = new Outbound(address, serverCurveKey) { RetryAt = DateTime.UtcNow, Ticket = ticket };
    });

    /// <summary>Stops dialling <paramref name="address"/> (except with <paramref name="keep"/>, the key that proved right) and closes those links.</summary>
    public void Forget(string address, byte[]? keep = null) => _commands.Enqueue(() =>
    {
        foreach (var (key, link) in _outbound.Where(o => o.Value.Address == address).ToList())
        {
            if (keep is not null && link.ServerCurveKey.AsSpan().SequenceEqual(keep))
                continue;
            _outbound.Remove(key);
            CloseOutbound(link, "no longer dialled", retry: false);
        }
    });

    /// <summary>Stops dialling the hub with this CURVE key at every address but those <paramref name="keep"/> picks (it moved, and was found at a new one).</summary>
    public void ForgetOthers(byte[] curveKey, Func<string, bool> keep) => _commands.Enqueue(() =>
    {
        foreach (var (key, link) in _outbound.Where(o => o.Value.ServerCurveKey.AsSpan().SequenceEqual(curveKey) && !keep(o.Value.Address)).ToList())
        {
            _outbound.Remove(key);
            CloseOutbound(link, "the hub was found at another address", retry: false);
        }
    });

    /// <summary>Sends on the peer's established link (a dialled one first); nothing is sent when there is none.</summary>
    public void Send(Id128 peer, byte[] message) => _commands.Enqueue(() =>
    {
        if (_outbound.Values.FirstOrDefault(l => l.Peer == peer && l.Up) is { } dialled)
            Send(dialled, message);
        else if (_inbound.Values.FirstOrDefault(l => l.Peer == peer && l.Up) is { } accepted)
            _router.SendMoreFrame(accepted.Identity).SendFrame(message);
    });

    public void Dispose()
    {
        _poller.Stop();
        foreach (var link in _outbound.Values)
            link.Socket?.Dispose();
        _router.Dispose();
        _commands.Dispose();
        _poller.Dispose();
        _events.Writer.TryComplete();
    }

    private static string OutboundKey(string address, byte[] curveKey) => address + "|" + Convert.ToHexString(curveKey);

    private int Bind(string endpoint, int port)
    {
        _router.Bind($"{endpoint}:{port}");
        return port;
    }

    private void OnRouterMessage(NetMQSocket socket)
    {
        // Frame by frame: a peer (authenticated or not) cannot make this hub buffer more than one frame of its message.
        var routing = socket.ReceiveFrameBytes(out var more);
        if (!more)
            return;
        var payload = socket.ReceiveFrameBytes(out more);
        if (more)
        {
            socket.SkipMultipartMessage();
            return;
        }

        var identity = Convert.ToHexString(routing);
        if (!_inbound.ContainsKey(identity) && LinkHandshake.OtherProtocol(payload) is { } version)
        {
            // Told in its own protocol, so that hub's log says what to do.
            var upgrade = version < LinkHandshake.Protocol ? "upgrade that hub" : "upgrade this hub";
            if (DateTime.UtcNow - _protocolWarnedAt > TimeSpan.FromMinutes(1))
            {
                // Once a minute: anyone who can reach the port can send these.
                _protocolWarnedAt = DateTime.UtcNow;
                _logger.LogWarning("Grid link refused: a hub speaking grid protocol {Version} connected; this hub speaks {Protocol}: {Upgrade}", version, LinkHandshake.Protocol, upgrade);
            }

            _router.SendMoreFrame(routing).SendFrame(LinkHandshake.RefusalFor(version, $"the hub it connected to speaks grid protocol {LinkHandshake.Protocol}, this one {version}: {(version < LinkHandshake.Protocol ? "upgrade this hub" : "upgrade that hub")}"));
            return;
        }

        if (!_inbound.TryGetValue(identity, out var link))
        {
            if (_inbound.Count >= 256)
                return; // a flood of half-open handshakes must not grow without bound
            if (_options.Grid() is not { } grid)
            {
                _router.SendMoreFrame(routing).SendFrame(LinkHandshake.Refusal("this hub belongs to no grid"));
                return;
            }

            _inbound[identity] = link = new Inbound(routing, new LinkServerHandshake(_options.Self, grid));
        }

        link.HeardAt = DateTime.UtcNow;
        if (link.Up)
        {
            // Pings keep the link alive; a late copy of a handshake message (a resent Proof) is not the peer's data.
            if (LinkHandshake.KindOf(payload) is not null)
                return;
            _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Message, link.Peer, "", payload));
            return;
        }

        string? error;
        switch (LinkHandshake.KindOf(payload))
        {
            case LinkMessageKind.Hello:
                var challenge = link.Handshake.OnHello(payload, _options.Members, _options.Joins, out error);
                if (challenge is not null)
                {
                    _router.SendMoreFrame(link.Identity).SendFrame(challenge);
                    return;
                }

                break;
            case LinkMessageKind.Proof:
                if (!link.Handshake.OnProof(payload, out error))
                    break;
                // A joiner dialling several of our addresses at once is admitted by the first proof; the others find it a member.
                if (link.Handshake.Joining is { } ticket && _options.Members(link.Handshake.Client!.HubKey) is null
                    && (error = Admit(ticket, link.Handshake.Client!)) is not null)
                    break;
                link.Up = true;
                link.Peer = link.Handshake.Client!.HubId;

                // A peer that reconnected leaves its old connection behind: the new one replaces it.
                foreach (var stale in _inbound.Where(l => l.Key != identity && l.Value.Up && l.Value.Peer == link.Peer).Select(l => l.Key).ToList())
                {
                    _inbound.Remove(stale);
                    _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Down, link.Peer, "replaced by a new connection"));
                }

                _router.SendMoreFrame(link.Identity).SendFrame(LinkHandshake.Control(LinkMessageKind.Accepted));
                _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Up, link.Peer, "inbound"));
                return;
            default:
                error = "no message passes before the handshake";
                break;
        }

        _logger.LogWarning("Grid link refused: {Reason}", error);
        _router.SendMoreFrame(link.Identity).SendFrame(LinkHandshake.Refusal(error ?? "refused"));
        _inbound.Remove(identity);
        _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Down, default, $"inbound handshake refused: {error}"));
    }

    /// <summary>Runs on the poller thread: whatever goes wrong in admitting (a full disk) is a refusal, never an exception that would end the thread.</summary>
    private string? Admit(JoinTicket ticket, Membership.MemberCertificate joiner)
    {
        if (_options.Admit is not { } admit)
            return "this hub admits no one";
        try
        {
            return admit(ticket, joiner);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            _logger.LogError(e, "Admitting a hub with an invitation failed");
            return "the inviting hub could not record the new member; try again later";
        }
    }

    private void OnDealerMessage(Outbound link)
    {
        var payload = link.Socket!.ReceiveFrameBytes();
        link.HeardAt = DateTime.UtcNow;
        var kind = LinkHandshake.KindOf(payload);
        if (link.Up)
        {
            if (kind is LinkMessageKind.Ping or LinkMessageKind.Challenge or LinkMessageKind.Accepted)
                return;
            if (kind is LinkMessageKind.Refused)
            {
                CloseOutbound(link, LinkHandshake.RefusalReason(payload), retry: true);
                return;
            }

            _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Message, link.Peer, "", payload));
            return;
        }

        if (kind is null && LinkHandshake.OtherProtocol(payload) is { } version)
        {
            var upgrade = version < LinkHandshake.Protocol ? "upgrade that hub" : "upgrade this hub";
            CloseOutbound(link, $"the hub at {link.Address} speaks grid protocol {version}, this one {LinkHandshake.Protocol}: {upgrade}", retry: true, refusedByPeer: true);
            return;
        }

        switch (kind)
        {
            case LinkMessageKind.Challenge when link.Proof is not null:
                Send(link, link.Proof); // the same challenge again: our proof was lost with it
                return;
            case LinkMessageKind.Challenge:
                var proof = link.Handshake!.OnChallenge(payload, _options.Members, out var error);
                if (proof is null)
                {
                    CloseOutbound(link, $"the hub at {link.Address} is refused: {error}", retry: true);
                    return;
                }

                link.Proof = proof;
                Send(link, proof);
                return;
            case LinkMessageKind.Accepted when link.Handshake!.Server is { } server:
                link.Up = true;
                link.Peer = server.HubId;
                link.Backoff = _options.FirstRetry;
                _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Up, link.Peer, $"outbound to {link.Address}", Address: link.Address));
                return;
            case LinkMessageKind.Refused:
                CloseOutbound(link, $"the hub at {link.Address} refused this hub: {LinkHandshake.RefusalReason(payload)}", retry: true, refusedByPeer: true);
                return;
            default:
                CloseOutbound(link, $"the hub at {link.Address} broke the handshake", retry: true);
                return;
        }
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        var ping = LinkHandshake.Control(LinkMessageKind.Ping);
        foreach (var (identity, link) in _inbound.ToList())
        {
            var removed = link.Up && _options.Members(link.Handshake.Client!.HubKey) is null;
            // A handshake is timed from its start (a peer repeating its Hello must not hold a slot forever).
            if (removed || (link.Up ? now - link.HeardAt > _options.SilenceTimeout : now - link.StartedAt > _options.HandshakeTimeout))
            {
                _inbound.Remove(identity);
                if (removed)
                    _router.SendMoreFrame(link.Identity).SendFrame(LinkHandshake.Refusal("this hub is no longer a member of the grid"));
                if (link.Up || removed)
                    _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Down, link.Peer, removed ? "removed from the grid" : "silent"));
            }
            else if (link.Up)
            {
                _router.SendMoreFrame(link.Identity).SendFrame(ping);
            }
        }

        foreach (var link in _outbound.Values.ToList())
        {
            if (link.Socket is null)
            {
                if (now >= link.RetryAt)
                    Open(link);
                continue;
            }

            if (link.Up && _options.Members(link.Handshake!.Server!.HubKey) is null)
                CloseOutbound(link, "removed from the grid", retry: true);
            else if (now - link.HeardAt > (link.Up ? _options.SilenceTimeout : _options.HandshakeTimeout))
                CloseOutbound(link, link.Up ? "silent" : $"no answer from {link.Address}", retry: true);
            else if (link.Up)
                Send(link, ping);
            else if (now - link.SentAt > ResendAfter)
            {
                // A message written to a connection that then died is gone; NetMQ reconnects by itself, so say it again.
                Send(link, link.Proof ?? link.Handshake!.Hello());
                link.SentAt = now;
            }
        }
    }

    private void Open(Outbound link)
    {
        if ((link.Ticket?.Grid ?? _options.Grid()) is not { } grid)
        {
            link.RetryAt = DateTime.UtcNow + _options.MaxRetry;
            return;
        }

        var socket = new DealerSocket();
        socket.Options.CurveServerKey = link.ServerCurveKey;
        socket.Options.CurveCertificate = _certificate;
        socket.Options.Linger = TimeSpan.Zero;
        socket.Options.MaxMsgSize = _options.MaxMessageBytes;
        socket.ReceiveReady += (_, _) => OnDealerMessage(link);
        try
        {
            socket.Connect("tcp://" + link.Address);
        }
        catch (Exception e) when (e is NetMQException or System.Net.Sockets.SocketException or ArgumentException)
        {
            // On the poller thread: a bad address must not end it. Tried again later, like a refused connection.
            socket.Dispose();
            _logger.LogWarning("Grid link to {Address} cannot be opened: {Error}", link.Address, e.Message);
            link.RetryAt = DateTime.UtcNow + _options.MaxRetry;
            return;
        }

        _poller.Add(socket);
        link.Socket = socket;
        link.Handshake = new LinkClientHandshake(_options.Self, grid, link.ServerCurveKey, ticket: link.Ticket);
        link.HeardAt = link.SentAt = DateTime.UtcNow;
        link.Proof = null;
        Send(link, link.Handshake.Hello());
    }

    /// <summary>
    /// Never waits: a peer that stopped reading fills its queue, and a blocking send would stall the one thread that
    /// owns every socket (and its timers). A full queue closes that link; it is dialled again with backoff.
    /// </summary>
    private void Send(Outbound link, byte[] message)
    {
        if (link.Socket is { } socket && !socket.TrySendFrame(TimeSpan.Zero, message))
            CloseOutbound(link, $"the hub at {link.Address} stopped reading (its queue is full)", retry: true);
    }

    private void CloseOutbound(Outbound link, string reason, bool retry, bool refusedByPeer = false)
    {
        var wasUp = link.Up;
        if (link.Socket is not null)
        {
            _poller.Remove(link.Socket);
            link.Socket.Dispose();
            link.Socket = null;
        }

        link.Up = false;
        _logger.LogInformation("Grid link to {Address} closed: {Reason}", link.Address, reason);
        _events.Writer.TryWrite(new LinkEvent(LinkEventKind.Down, wasUp ? link.Peer : default, reason, RefusedByPeer: refusedByPeer, Address: link.Address));
        if (retry)
        {
            link.RetryAt = DateTime.UtcNow + link.Backoff;
            link.Backoff = TimeSpan.FromTicks(Math.Min(link.Backoff.Ticks * 2, _options.MaxRetry.Ticks));
        }
    }

    private sealed class Inbound(byte[] identity, LinkServerHandshake handshake)
    {
        public byte[] Identity { get; } = identity;

        public LinkServerHandshake Handshake { get; } = handshake;

        public bool Up { get; set; }

        public Id128 Peer { get; set; }

        public DateTime HeardAt { get; set; } = DateTime.UtcNow;

        public DateTime StartedAt { get; } = DateTime.UtcNow;
    }

    private sealed class Outbound(string address, byte[] serverCurveKey)
    {
        public string Address { get; } = address;

        public byte[] ServerCurveKey { get; } = serverCurveKey;

        public JoinTicket? Ticket { get; init; }

        public DealerSocket? Socket { get; set; }

        public LinkClientHandshake? Handshake { get; set; }

        public bool Up { get; set; }

        public Id128 Peer { get; set; }

        public DateTime HeardAt { get; set; }

        public DateTime RetryAt { get; set; }

        public DateTime SentAt { get; set; }

        public byte[]? Proof { get; set; }

        public TimeSpan Backoff { get; set; } = TimeSpan.FromMilliseconds(250);
    }
}
