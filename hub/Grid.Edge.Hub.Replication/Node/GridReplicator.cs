using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Grid.Edge.Hub.Replication.Catchup;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Discovery;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Links;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Sync;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Hub.Replication.Node;

public sealed class GridReplicatorOptions
{
    /// <summary>Where the grid port listens: 127.0.0.1 (this machine only) or an address of a LAN or overlay (0.0.0.0: all).</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>0: a port the system chooses (read <see cref="GridReplicator.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>How often each peer is sent this hub's version vector (the catch-up that repairs anything a push lost).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long this hub's own new readings gather before they go out as deltas (one delta per series per gathering).</summary>
    public TimeSpan AuthorDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How far ahead of this hub's clock a peer's delta may be before it is held back.</summary>
    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Addresses (<c>host:port</c>, or <c>hub-id@host:port</c>) of members to keep a link to, as <see cref="PeerAddress"/>
    /// parses them: hubs beyond the LAN (an overlay network, a port forwarded to a home).
    /// </summary>
    public IReadOnlyList<string> Peers { get; init; } = [];

    /// <summary>
    /// Whether this hub also dials the addresses peers tell it of and remembers them across restarts; off, it dials
    /// only <see cref="Peers"/> (and an inviter while joining), for a grid whose links an operator lays out by hand.
    /// </summary>
    public bool Discovery { get; init; } = true;

    /// <summary>The UDP port of LAN discovery (<see cref="Discovery.LanBeacon"/>); 0: no beacon (links come from <see cref="Peers"/> and announced addresses).</summary>
    public int DiscoveryPort { get; init; } = 7421;

    /// <summary>How often this hub's beacon goes out.</summary>
    public TimeSpan BeaconInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>A configured peer: <c>host:port</c>, optionally preceded by the hub id of the member expected there.</summary>
public sealed record PeerAddress(string Address, string? HubId)
{
    /// <summary>Null with a reason when the text is not a peer address.</summary>
    public static PeerAddress? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var hub = at < 0 ? null : text[..at];
        var address = at < 0 ? text : text[(at + 1)..];
        if (hub is not null && !Id128.TryParse(hub, out _))
            error = $"'{hub}' is not a hub id (the 26 letters and digits 'grid status' shows)";
        else if (address.LastIndexOf(':') is var colon && colon <= 0 || address.Any(char.IsWhiteSpace)
                 || !int.TryParse(address[(address.LastIndexOf(':') + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            error = $"'{address}' is not host:port (a name or address, a colon and a port from 1 to 65535; IPv6 as [addr]:port)";
        return error is null ? new PeerAddress(address, hub) : null;
    }

    /// <summary>The host part (without brackets around an IPv6 address).</summary>
    public string Host => Address[..Address.LastIndexOf(':')].Trim('[', ']');

    public int Port => int.Parse(Address[(Address.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A host name (looked up before it is dialled), not an address.</summary>
    public bool IsName => !IPAddress.TryParse(Host, out _);

    public override string ToString() => HubId is null ? Address : $"{HubId}@{Address}";
}

/// <summary>A peer as this hub sees it.</summary>
/// <param name="State">"up" while a link to it is established, "down" otherwise.</param>
/// <param name="PointsBehind">Points this hub holds that the peer lacked at its last version vector (null before it sent one).</param>
/// <param name="BehindMs">How old the oldest change it lacks is (0: in sync; null before it sent a vector).</param>
public sealed record GridPeerView(string HubId, string? Address, string State, DateTimeOffset? LastContact, long BytesIn, long BytesOut, long DeltasIn, long DeltasRefused, long? PointsBehind = null, long? BehindMs = null);

/// <summary>The grid port and the peers, for the API and the dashboard.</summary>
/// <param name="DeltasHeld">Peers' deltas held back because their clock is beyond this hub's time + the max skew: kept aside, not applied, taken once this hub's time comes within reach.</param>
/// <param name="ClockMs">The grid clock (Unix ms): the latest clock this hub signed a delta with or took in with a peer's applied delta; 0 before either.</param>
public sealed record GridLinksView(int Port, IReadOnlyList<string> Addresses, IReadOnlyList<GridPeerView> Peers, long DeltasAuthored, long DeltasApplied, IReadOnlyDictionary<string, long> Refusals, long DeltasHeld, long ClockMs);

/// <summary>
/// This hub's readings that no other hub holds yet, as far as it has heard (peers' last version vectors): per series
/// (<c>device/metric</c>) or per device (<c>device/*</c>, its device deltas) the earliest reading time and the points.
/// Empty while this hub is in no grid or its only member.
/// </summary>
public sealed record GridProvisional(IReadOnlyDictionary<string, long> Since, IReadOnlyDictionary<string, long> Points);

/// <summary>The content of a time range: two hubs answer the same exactly when they hold the same points with the same winning stamps.</summary>
public sealed record GridDigest(long From, long To, long Points, int Series, string Digest);

/// <summary>
/// The grid running on one hub: the NetMQ links (<see cref="LinkHost"/>), the sync state machine
/// (<see cref="SyncNode"/>) with its durable log (<see cref="DeltaLog"/>), joining with an invitation, and the two
/// directions between the store and the grid. This hub's own writes (what <see cref="OnLocalWrites"/> is told)
/// become signed deltas per series, pushed at once; its history before the grid, or written while it was down, is
/// found by the store's bucket changes and sent too. Peers' deltas are merged into the store with their origin's
/// stamps through the host's merge function (the hub's "readings stored" hook), so remote devices appear live.
/// Every piece of state is touched by one loop task only; the link host owns the sockets on its own thread.
/// </summary>
public sealed class GridReplicator : IAsyncDisposable
{
    private readonly HubIdentity _identity;
    private readonly GridMembership _membership;
    private readonly ChunkedTimeSeriesStore _store;
    private readonly Func<IReadOnlyList<StampedReading>, CancellationToken, ValueTask> _merge;
    private readonly GridReplicatorOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _dataDirectory;
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<Id128, PeerState> _peers = [];
    private readonly Dictionary<int, PeerState> _byHandle = [];
    private readonly ConcurrentDictionary<string, GridPeerView> _peerViews = new(StringComparer.Ordinal);
    private readonly Dictionary<SeriesKey, PendingSeries> _pendingLocal = [];
    private DeviceContexts _deviceContexts = new();
    private readonly List<PeerAddress> _configuredPeers;

    // Which member answered at a configured address: kept apart from the addresses members announce, which replace
    // each other in the peers table.
    private readonly Dictionary<string, Id128> _configuredFound = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _resolving = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _resolvedFrom = new(StringComparer.Ordinal);
    private readonly byte[] _curvePublic;
    private readonly byte[] _curveSecret;
    private LinkHost? _links;
    private LanBeacon? _beacon;
    private volatile BeaconState? _beaconState;
    private volatile GridProvisional _provisional = new(new Dictionary<string, long>(), new Dictionary<string, long>());
    private readonly Dictionary<Id128, (long TimeMs, string Address, long AcceptedAtMs)> _beaconSeen = [];
    private Task? _loop;
    private Task? _pump;
    private Active? _active;
    private Joining? _joining;
    private bool _flushScheduled;
    private bool _historyOwed;
    private const int MaxQueuedWrites = 4096;

    // A catch-up round can hold a million points: merged a slice at a time, so the hub's memory does not grow with it.
    private const int MergeSlice = 20_000;
    private int _disposed;
    private int _queuedWrites;
    private long _deferredWrites;
    private bool _writesDeferred;
    private long _authored;
    private long _applied;
    private long _held;
    private long _clockHlc;
    private long _cursorSeen;
    private long _cursorTickAt;
    private IReadOnlyDictionary<string, long> _refusals = new Dictionary<string, long>();

    public GridReplicator(HubIdentity identity, GridMembership membership, ChunkedTimeSeriesStore store, Func<IReadOnlyList<StampedReading>, CancellationToken, ValueTask> merge, string dataDirectory, GridReplicatorOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(merge);
        _identity = identity;
        _membership = membership;
        _store = store;
        _merge = merge;
        _dataDirectory = dataDirectory;
        _options = options ?? new GridReplicatorOptions();
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _configuredPeers = [.. _options.Peers.Select(p => PeerAddress.TryParse(p, out var error) ?? throw new ArgumentException($"peer '{p}': {error}", nameof(options)))];
        var pair = identity.Keys.CurveKeyPair();
        _curvePublic = pair.Public;
        _curveSecret = pair.Secret;
    }

    /// <summary>The latest time (Unix ms) a replicated point may have: the hybrid clock's millisecond range.</summary>
    public const long MaxTimeMs = DeltaHeader.MaxTimeMs;

    /// <summary>The grid port, once started.</summary>
    public int Port => _links?.Port ?? 0;

    /// <summary>Where peers can reach this hub: the bound address, or each of this machine's addresses when bound to all.</summary>
    public IReadOnlyList<string> Addresses => _links is null ? [] : AdvertisedAddresses(_options.BindAddress, _links.Port);

    /// <summary>Opens the grid port and starts the loop; the grid's own work starts when this hub is (or becomes) a member.</summary>
    /// <exception cref="NetMQ.NetMQException">The port is taken or the address is not this machine's.</exception>
    public void Start()
    {
        _links = new LinkHost(new LinkHostOptions
        {
            Self = new LinkHandshake.Self(_identity.Keys, _curvePublic),
            CurveSecret = _curveSecret,
            Grid = () => _membership.GridId,
            Members = MemberOrInviter,
            Joins = (JoinTicket ticket, ReadOnlySpan<byte> hubKey, ReadOnlySpan<byte> curveKey, out string? error) =>
                _membership.CheckJoin(ticket.Invitation, ticket.Proof, hubKey, curveKey, out error),
            Admit = (ticket, certificate) => _membership.Admit(ticket.Invitation, ticket.Proof, certificate),
            BindAddress = _options.BindAddress,
            Port = _options.Port,
        }, _logger);
        if (_options.Discovery && _options.DiscoveryPort != 0)
        {
            try
            {
                _beacon = LanBeacon.Start(_options.BindAddress, _options.DiscoveryPort, NextBeacon, OnBeacon, _options.BeaconInterval, _logger);
            }
            catch (SocketException e)
            {
                _logger.LogWarning("Grid: LAN discovery cannot use UDP port {Port} ({Error}); members are found through --peer and the addresses they announce", _options.DiscoveryPort, e.Message);
            }
        }

        _membership.Changed += OnMembershipChanged;
        _pump = Task.Run(PumpLinkEventsAsync);
        _loop = Task.Run(RunAsync);
        _work.Writer.TryWrite(new Work.MembershipChanged());
        _ = Task.Run(TickAsync);
    }

    /// <summary>This hub's own new readings, durable in the store (called by the host's "readings stored" hook; never blocks).</summary>
    public void OnLocalWrites(IReadOnlyList<Reading> readings, IReadOnlyList<ColumnCorrection> corrections)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (readings.Count == 0 || _membership.GridId is null)
            return;

        // Bounded: when the loop falls this far behind (a slow card under a burst), the readings are not queued but
        // found again in the store by the history pass, which the loop is told to run.
        if (Interlocked.Increment(ref _queuedWrites) > MaxQueuedWrites)
        {
            Interlocked.Decrement(ref _queuedWrites);
            Interlocked.Increment(ref _deferredWrites);
            Volatile.Write(ref _writesDeferred, true);
            return;
        }

        _work.Writer.TryWrite(new Work.LocalWrites([.. readings], corrections.Count == 0 ? [] : [.. corrections]));
    }

    /// <summary>A one-time code for another hub to join, valid for <paramref name="validFor"/>.</summary>
    /// <exception cref="GridMembershipException">This hub is in no grid, or the duration is out of range.</exception>
    public (string Code, DateTimeOffset ExpiresAt) Invite(TimeSpan validFor)
    {
        var invitation = _membership.Invite(Addresses, validFor);
        return (invitation.Encode(), DateTimeOffset.FromUnixTimeMilliseconds(invitation.ExpiresAtMs));
    }

    /// <summary>Joins the grid of an invitation: connects to the inviter, proves the code, and takes the grid's control log.</summary>
    /// <exception cref="GridMembershipException">The code is not valid, this hub is already in a grid, the inviter refused, or no inviter answered in time.</exception>
    public async Task<GridView> JoinAsync(string code, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var invitation = Invitation.TryDecode(code, out var error) ?? throw new GridMembershipException(GridRefusal.Invalid, error!);
        if (_membership.GridId is { } current)
            throw new GridMembershipException(GridRefusal.AlreadyInGrid, $"this hub already belongs to grid {current}; a hub is in one grid at a time");
        if (invitation.ExpiresAtMs <= _time.GetUtcNow().ToUnixTimeMilliseconds())
            throw new GridMembershipException(GridRefusal.Invalid, "the invitation has expired: ask for a new one ('grid invite' on a member)");
        var joining = new Joining(invitation);
        _work.Writer.TryWrite(new Work.Join(joining));
        try
        {
            return await joining.Done.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            var why = joining.LastProblem is { } problem ? $" (last: {problem})" : "";
            throw new GridMembershipException(GridRefusal.Invalid, $"no inviting hub answered at {string.Join(", ", invitation.Addresses)} within {timeout.TotalSeconds:0} s{why}; check that it runs and that this machine can reach it");
        }
        finally
        {
            _work.Writer.TryWrite(new Work.JoinEnded(joining));
        }
    }

    public GridLinksView Links() =>
        new(Port, Addresses, [.. _peerViews.Values.OrderBy(p => p.HubId, StringComparer.Ordinal)], Interlocked.Read(ref _authored), Interlocked.Read(ref _applied), _refusals,
            Interlocked.Read(ref _held), Interlocked.Read(ref _clockHlc) >> WriteStamp.CounterBits);

    /// <summary>This hub's readings not yet on any other hub (updated with every sync tick).</summary>
    public GridProvisional Provisional() => _provisional;

    /// <summary>
    /// The point count and a SHA-256 over every stored point with <c>from &lt;= t &lt; to</c>: series (ordinal
    /// order), time, value bits, and the winning stamp (clock, origin).
    /// </summary>
    public async Task<GridDigest> DigestAsync(long fromMs, long toMs, CancellationToken cancellationToken = default)
    {
        using var digest = new ContentDigest();
        var bucketMs = (long)_store.BucketDuration.TotalMilliseconds;
        foreach (var series in _store.ListSeries().OrderBy(s => s.Key.Id, StringComparer.Ordinal))
        {
            var from = Math.Max(fromMs, series.FirstMs);
            var to = Math.Min(toMs, series.LatestMs + 1);
            var counted = false;
            for (var bucket = Floor(from, bucketMs); bucket < to; bucket += bucketMs)
            {
                var stamped = await _store.ReadStampedBucketAsync(series.Key, bucket, cancellationToken);
                if (stamped is null)
                    continue;
                for (var i = 0; i < stamped.Times.Length; i++)
                {
                    if (stamped.Times[i] < fromMs || stamped.Times[i] >= toMs)
                        continue;
                    if (!counted)
                    {
                        digest.Series(series.Key.Id);
                        counted = true;
                    }

                    digest.Point(stamped.Times[i], stamped.Values[i], stamped.Stamps[i]);
                }
            }
        }

        return new GridDigest(fromMs, toMs, digest.Points, digest.SeriesCount, digest.Finish());
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _membership.Changed -= OnMembershipChanged;
        _work.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            if (_loop is not null)
                await _loop.ConfigureAwait(false);
        }
        finally
        {
            if (_beacon is not null)
                await _beacon.DisposeAsync();
            _links?.Dispose();
            if (_pump is not null)
                await _pump.ConfigureAwait(false);
            _active?.Log.Dispose();
            _stop.Dispose();
        }
    }

    private static long Floor(long t, long step) => t - (((t % step) + step) % step);

    private MemberCertificate? MemberOrInviter(ReadOnlySpan<byte> hubKey)
    {
        if (_membership.MemberByKey(hubKey) is { } member)
            return member;

        // While joining, the inviter is known by the invitation alone: its hub id and CURVE key.
        return Volatile.Read(ref _joining) is { } joining && HubKeys.HubIdOf(hubKey) == joining.Invitation.Inviter
            ? new MemberCertificate(hubKey.ToArray(), 0, joining.Invitation.InviterCurveKey, [])
            : null;
    }

    private void OnMembershipChanged() => _work.Writer.TryWrite(new Work.MembershipChanged());

    /// <summary>On the beacon's receive task: queued for the loop (the beacon bounds how many a second).</summary>
    private void OnBeacon(IPAddress from, byte[] message) => _work.Writer.TryWrite(new Work.Beacon(from, message));

    /// <summary>On the beacon's send task: a fresh beacon each time (new nonce and time), none while this hub is in no grid.</summary>
    private byte[]? NextBeacon() =>
        _beaconState is { } state && Port != 0
            ? BeaconMessage.Seal(state.Key, state.Grid, _identity.Keys, Port, _time.GetUtcNow().ToUnixTimeMilliseconds())
            : null;

    /// <summary>
    /// A beacon a member sent: that member is dialled at the address it came from, unless a link to it is up. One
    /// address found this way per member at a time, and an older beacon from a new address is a replay: a host on the
    /// LAN cannot make this hub dial around.
    /// </summary>
    private void Discovered(IPAddress from, byte[] message)
    {
        if (_beaconState is not { } state
            || BeaconMessage.TryOpen(state.Key, state.Grid, message, hub => state.Members.GetValueOrDefault(hub)) is not var (hub, port, timeMs)
            || hub == _identity.Keys.HubId)
            return;
        var address = from.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{from}]:{port}" : $"{from}:{port}";
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_beaconSeen.TryGetValue(hub, out var seen) && seen.Address != address && timeMs <= seen.TimeMs && now - seen.AcceptedAtMs < 600_000)
            return;
        _beaconSeen[hub] = (Math.Max(timeMs, seen.TimeMs), address, now);
        if ((_peers.TryGetValue(hub, out var peer) && peer.Up > 0) || MemberCurveKey(hub) is not { } curve)
            return;
        if (seen.Address is { } previous && previous != address && _configuredPeers.All(p => p.Address != previous))
            _links!.Forget(previous);
        if (seen.Address != address)
            _logger.LogInformation("Grid: member {Hub} found on the LAN at {Address}", hub, address);
        Peer(hub).Address = address;
        _links!.Dial(address, curve);
    }

    /// <summary>The sealing key, the grid and the members' keys for beacons, from the control log: none while this hub is in no grid or was removed.</summary>
    private void UpdateBeacon()
    {
        var view = _membership.View();
        var founder = view.Members.FirstOrDefault(m => m.IsRoot);
        if (view.Id is null || !view.IsMember || founder is null || !Id128.TryParse(view.Id, out var grid))
        {
            _beaconState = null;
            return;
        }

        var members = new Dictionary<Id128, VerifyingKey>();
        foreach (var member in view.Members)
        {
            if (Id128.TryParse(member.HubId, out var id) && StrictEd25519.TryImport(Convert.FromBase64String(member.PublicKey), out var key, out _))
                members[id] = key!;
        }

        _beaconState = new BeaconState(BeaconMessage.Key(grid, Convert.FromBase64String(founder.PublicKey)), grid, members);
    }

    private async Task PumpLinkEventsAsync()
    {
        try
        {
            await foreach (var e in _links!.Events.ReadAllAsync(_stop.Token))
                _work.Writer.TryWrite(new Work.Link(e));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(_options.SyncInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
                _work.Writer.TryWrite(new Work.Tick());
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync())
        {
            try
            {
                await HandleAsync(work);
                ShowNode();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // One failed step (a full disk under the delta log, a store that is degraded) must not end the grid:
                // the node reloads from what is durable and peers' catch-up fills in what was lost.
                _logger.LogError(e, "Grid step failed ({Work}); reloading the grid state from disk", work.GetType().Name);
                Reload();
            }
        }
    }

    private async Task HandleAsync(Work work)
    {
        switch (work)
        {
            case Work.MembershipChanged:
                await OnMembershipAsync();
                break;
            case Work.LocalWrites local:
                Interlocked.Decrement(ref _queuedWrites);
                if (Volatile.Read(ref _writesDeferred))
                {
                    Volatile.Write(ref _writesDeferred, false);
                    _historyOwed = true;
                    _logger.LogWarning("Grid: the grid fell behind this hub's writes ({Deferred} batches so far); what it skipped is sent from the store", Interlocked.Read(ref _deferredWrites));
                }

                Gather(local);
                if (!_flushScheduled && _active is not null)
                {
                    _flushScheduled = true;
                    _ = Task.Delay(_options.AuthorDelay, _stop.Token).ContinueWith(_ => _work.Writer.TryWrite(new Work.Flush()), TaskScheduler.Default);
                }

                break;
            case Work.Flush:
                _flushScheduled = false;
                AuthorPending();
                break;
            case Work.Link link:
                await OnLinkAsync(link.Event);
                break;
            case Work.Tick:
                await OnTickAsync();
                break;
            case Work.Resolved resolved:
                OnResolved(resolved.Peer, resolved.Addresses);
                break;
            case Work.Beacon beacon:
                Discovered(beacon.From, beacon.Message);
                break;
            case Work.Join join:
                StartJoin(join.Joining);
                break;
            case Work.JoinEnded ended:
                if (ReferenceEquals(_joining, ended.Joining))
                {
                    Volatile.Write(ref _joining, null);
                    var invitation = ended.Joining.Invitation;
                    if (!ended.Joining.Done.Task.IsCompletedSuccessfully || !_options.Discovery)
                    {
                        // Without discovery the links are the configured ones only: the joining link ends with the join.
                        foreach (var address in invitation.Addresses.Where(a => _configuredPeers.All(p => p.Address != a)))
                            _links!.Forget(address);
                        DialKnownPeers();
                    }
                    else if (_active is not null)
                    {
                        // The links that joined stay up as members' links; the inviter is dialled there after a restart too.
                        foreach (var address in invitation.Addresses)
                            _active.Log.RememberPeer(invitation.Inviter, address, _time.GetUtcNow().ToUnixTimeMilliseconds());
                    }
                }

                break;
        }
    }

    private async Task OnMembershipAsync()
    {
        var grid = _membership.GridId;
        if (_active is not null && (grid is null || grid != _active.Grid))
        {
            _active.Log.Dispose();
            _active = null;
        }

        if (grid is { } id && _active is null)
        {
            var log = DeltaLog.Open(_dataDirectory, id);
            _active = new Active(id, log, NewNode(id, log, log.Load()));
            _deviceContexts = new DeviceContexts();
            _logger.LogInformation("Grid {Grid}: replication started ({Deltas} deltas held)", id, _active.Node.Store.Count);
            foreach (var peer in _peers.Values.Where(p => p.Address is not null))
                log.RememberPeer(peer.Hub, peer.Address!, _time.GetUtcNow().ToUnixTimeMilliseconds());
            await AuthorHistoryAsync();
        }

        // A new member may be the one a configured address leads to.
        DialKnownPeers();
        UpdateBeacon();

        // Every peer hears of every change of the control log at once (a removal must reach the others quickly).
        var records = RecordsMessage();
        foreach (var peer in _peers.Values.Where(p => p.Up > 0))
            Send(peer, records);
    }

    private SyncNode NewNode(Id128 grid, DeltaLog log, PersistedSync persisted)
    {
        var verifier = new DeltaVerifier(grid, _membership.GrantFor);
        return new SyncNode(_identity.Keys, verifier, new SyncOptions { MaxSkewMs = (long)_options.MaxSkew.TotalMilliseconds }, persisted, archive: log);
    }

    private void Reload()
    {
        if (_active is null)
            return;
        _active = _active with { Node = NewNode(_active.Grid, _active.Log, _active.Log.Load()) };
        _deviceContexts = new DeviceContexts();

        // Whatever of this hub's own writes did not become durable deltas is found again from the author cursor.
        _historyOwed = true;
    }

    private void StartJoin(Joining joining)
    {
        if (_membership.GridId is not null)
        {
            joining.Done.TrySetException(new GridMembershipException(GridRefusal.AlreadyInGrid, "this hub already belongs to a grid"));
            return;
        }

        Volatile.Write(ref _joining, joining);
        var invitation = joining.Invitation;
        var proof = Invitation.JoinProof(invitation.Secret, invitation.Grid, _identity.Keys.PublicKey.Span, _curvePublic);
        var ticket = new JoinTicket(invitation.Grid, invitation.Id, proof);
        foreach (var address in invitation.Addresses)
            _links!.Dial(address, invitation.InviterCurveKey, ticket);
    }

    private void DialKnownPeers()
    {
        if (_active is null)
            return;
        var known = _active.Log.Peers();
        if (_options.Discovery)
        {
            foreach (var (hub, address) in known)
            {
                if (hub != _identity.Keys.HubId && MemberCurveKey(hub) is { } curve)
                    _links!.Dial(address, curve);
            }
        }

        // A configured address is dialled with the key of the member expected there: named in the setting, or found
        // there before. Until it is known, with every other member's key at once; only the right one gets through.
        foreach (var peer in _configuredPeers)
        {
            if (!peer.IsName)
            {
                DialConfigured(peer, peer.Address, known);
                continue;
            }

            // A name: its last answer is dialled now (a new member may be the one there), and looked up again.
            foreach (var (dial, from) in _resolvedFrom.Where(r => r.Value == peer.Address).ToList())
                DialConfigured(peer, dial, known);
            ResolveLater(peer);
        }
    }

    private void DialConfigured(PeerAddress peer, string address, IReadOnlyList<(Id128 Hub, string Address)> known)
    {
        Id128? expected = peer.HubId is { } named && Id128.TryParse(named, out var id) ? id
            : _configuredFound.TryGetValue(peer.Address, out var found) ? found
            : known.FirstOrDefault(k => k.Address == peer.Address && MemberCurveKey(k.Hub) is not null) is ({ } remembered, not null) ? remembered : null;
        if (expected is { } hub)
        {
            if (hub != _identity.Keys.HubId && MemberCurveKey(hub) is { } curve)
                _links!.Dial(address, curve);
            return;
        }

        foreach (var member in _membership.View().Members.Where(m => m.HubId != _identity.Keys.HubId.ToString()))
            _links!.Dial(address, Convert.FromBase64String(member.CurveKey));
    }

    /// <summary>
    /// A configured peer given by name is looked up off the loop (NetMQ would do it on the thread that owns every
    /// socket, and an offline van's lookup waits and fails); its addresses are dialled when the answer comes.
    /// </summary>
    private void ResolveLater(PeerAddress peer)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_resolving.TryGetValue(peer.Address, out var since) && now - since < 60_000)
            return;
        _resolving[peer.Address] = now;
        _ = Task.Run(async () =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                var addresses = await Dns.GetHostAddressesAsync(peer.Host, timeout.Token);
                _work.Writer.TryWrite(new Work.Resolved(peer, addresses));
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException)
            {
                _logger.LogInformation("Grid: the peer name {Host} does not resolve now ({Error}); tried again in a minute", peer.Host, e.Message);
            }
        });
    }

    private void OnResolved(PeerAddress peer, IPAddress[] addresses)
    {
        if (_active is null)
            return;
        var known = _active.Log.Peers();
        foreach (var address in addresses.OrderBy(a => a.AddressFamily != AddressFamily.InterNetwork).Take(2))
        {
            var dial = Format(address, peer.Port);
            _resolvedFrom[dial] = peer.Address;
            DialConfigured(peer, dial, known);
        }
    }

    /// <summary>A configured address answered as <paramref name="hub"/>: remembered, and its other keys are no longer tried.</summary>
    private void OnConfiguredPeerFound(Id128 hub, string address)
    {
        var configured = _resolvedFrom.GetValueOrDefault(address) ?? address;
        if (_configuredPeers.All(p => p.Address != configured) || MemberCurveKey(hub) is not { } curve)
            return;
        _configuredFound[configured] = hub;
        _active?.Log.RememberPeer(hub, address, _time.GetUtcNow().ToUnixTimeMilliseconds());
        _links!.Forget(address, keep: curve);
    }

    private byte[]? MemberCurveKey(Id128 hub) =>
        _membership.View().Members.FirstOrDefault(m => m.HubId == hub.ToString()) is { } member ? Convert.FromBase64String(member.CurveKey) : null;

    private async Task OnLinkAsync(LinkEvent e)
    {
        var now = _time.GetUtcNow();
        switch (e.Kind)
        {
            case LinkEventKind.Up:
            {
                var peer = Peer(e.Peer);
                peer.Up++;
                peer.LastContact = now;
                _active?.Node.Reset(peer.Handle);
                if (e.Address is { } dialled)
                {
                    OnConfiguredPeerFound(e.Peer, dialled);
                    if (_options.Discovery && _active is not null)
                        _active.Log.RememberPeer(e.Peer, dialled, now.ToUnixTimeMilliseconds());

                    // Reached here: the addresses it had before (a van on last week's campsite LAN) are no longer dialled.
                    if (MemberCurveKey(e.Peer) is { } key)
                        _links!.ForgetOthers(key, address => address == dialled || _resolvedFrom.ContainsKey(address) || _configuredPeers.Any(p => p.Address == address));
                }
                // Membership first, on every new link (each is a session): a joiner learns its grid from it, and a
                // member learns of adds and removals before any delta of theirs is judged. Not only on the first: a
                // change sent meanwhile may have gone down a link the peer had already closed and this hub did not
                // yet know was dead (its silence takes 3 s to tell), and nothing else would say it again.
                Send(peer, RecordsMessage());
                if (peer.Up == 1)
                {
                    Send(peer, new SyncMessage(SyncMessageKind.Addresses) { Items = [.. Addresses.Select(a => System.Text.Encoding.UTF8.GetBytes(a))] }.Encode());
                    if (_active is not null)
                    {
                        var output = new List<Outgoing>();
                        _active.Node.Tick(now.ToUnixTimeMilliseconds(), [peer.Handle], CatchUpMode.Vectors, output);
                        await ApplyChangesAsync(null); // a tick releases held-back deltas: merged before they are kept
                        Dispatch(output);
                    }
                }

                UpdateView(peer);
                break;
            }

            case LinkEventKind.Down:
                if (_joining is { } joining)
                {
                    joining.LastProblem = e.Detail;

                    // The inviter's verdict on the code is final (spent, expired, wrong secret): say it now.
                    if (e.RefusedByPeer)
                        joining.Done.TrySetException(new GridMembershipException(GridRefusal.Invalid, e.Detail));
                }

                if (e.Peer != default && _peers.TryGetValue(e.Peer, out var down))
                {
                    down.Up = Math.Max(0, down.Up - 1);
                    _active?.Node.Reset(down.Handle);
                    UpdateView(down);
                }

                break;
            case LinkEventKind.Message:
            {
                var peer = Peer(e.Peer);
                peer.LastContact = now;
                peer.BytesIn += e.Message!.Length;
                await OnMessageAsync(peer, e.Message);
                UpdateView(peer);
                break;
            }
        }
    }

    private async Task OnMessageAsync(PeerState peer, byte[] bytes)
    {
        var kind = bytes.Length > 0 ? (SyncMessageKind)bytes[0] : 0;
        if (kind is SyncMessageKind.Records or SyncMessageKind.Addresses)
        {
            var message = SyncMessage.TryDecode(bytes, out var error);
            if (message is null)
            {
                _logger.LogWarning("Grid: a malformed message from hub {Peer} is dropped ({Error})", peer.Hub, error);
                return;
            }

            if (kind == SyncMessageKind.Records)
                OnRecords(peer, message.Items);
            else
                OnAddresses(peer, message.Items);
            return;
        }

        if (_active is null)
            return;
        var output = new List<Outgoing>();
        var before = _active.Node.Refusals.Values.Sum();
        _active.Node.Receive(peer.Handle, bytes, _time.GetUtcNow().ToUnixTimeMilliseconds(), UpHandles(), output);
        peer.DeltasRefused += _active.Node.Refusals.Values.Sum() - before;
        await ApplyChangesAsync(peer);
        Dispatch(output);
    }

    private void OnRecords(PeerState peer, IReadOnlyList<byte[]> items)
    {
        var records = new List<MembershipRecord>();
        foreach (var item in items)
        {
            if (MembershipRecord.TryDecode(item, out var error) is { } record)
                records.Add(record);
            else
                _logger.LogWarning("Grid: a malformed membership record from hub {Peer} is dropped ({Error})", peer.Hub, error);
        }

        if (_membership.GridId is null)
        {
            if (_joining is not { } joining || peer.Hub != joining.Invitation.Inviter)
                return;
            var refusal = _membership.Join(records, joining.Invitation.Grid);
            if (refusal is null)
                joining.Done.TrySetResult(_membership.View());
            else
                joining.Done.TrySetException(new GridMembershipException(GridRefusal.Invalid, $"the inviting hub's grid records are refused: {refusal}"));
            return;
        }

        foreach (var record in records)
        {
            if (_membership.Receive(record, out var error) == RecordOutcome.Refused)
                _logger.LogDebug("Grid: a membership record from hub {Peer} is refused: {Error}", peer.Hub, error);
        }
    }

    private void OnAddresses(PeerState peer, IReadOnlyList<byte[]> items)
    {
        foreach (var item in items.Take(Invitation.MaxAddresses))
        {
            var address = System.Text.Encoding.UTF8.GetString(item);
            if (address.Length is 0 or > 255 || !address.Contains(':', StringComparison.Ordinal) || address.Any(char.IsWhiteSpace))
                continue;
            peer.Address ??= address;

            // Kept once this hub is a member (a joiner hears them before it has its grid: kept when it starts).
            _active?.Log.RememberPeer(peer.Hub, address, _time.GetUtcNow().ToUnixTimeMilliseconds());
        }
    }

    private async Task OnTickAsync()
    {
        if (_active is null)
            return;
        var output = new List<Outgoing>();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        _active.Node.Tick(now, UpHandles(), CatchUpMode.Vectors, output);
        await ApplyChangesAsync(null);
        Dispatch(output);
        var refusals = new Dictionary<string, long>(_active.Node.Refusals);
        if (Interlocked.Read(ref _deferredWrites) is > 0 and var deferred)
            refusals["own write batches deferred to the store scan"] = deferred;
        _refusals = refusals;
        MeasureLag(now);
        MeasureProvisional();
        foreach (var peer in _configuredPeers.Where(p => p.IsName))
        {
            if (!_configuredFound.TryGetValue(peer.Address, out var hub) || !_peers.TryGetValue(hub, out var linked) || linked.Up == 0)
                ResolveLater(peer);
        }

        if (_historyOwed)
        {
            await AuthorHistoryAsync();
            return;
        }

        await AdvanceAuthorCursorAsync(now);
    }

    private void MeasureProvisional()
    {
        var since = new Dictionary<string, long>(StringComparer.Ordinal);
        var points = new Dictionary<string, long>(StringComparer.Ordinal);
        if (_membership.View().Members.Count > 1)
        {
            var confirmed = _active!.Node.ConfirmedOwnTops();
            var me = _identity.Keys.HubId;
            foreach (var stream in _active.Node.Store.Streams.Where(s => s.Key.Origin == me && s.Head is not null))
            {
                var top = confirmed.GetValueOrDefault(stream.Key);
                if (stream.Top <= top)
                    continue;
                var (from, count) = _active.Log.Unconfirmed(stream.Key, top + 1);
                if (from < 0)
                    continue;
                var series = stream.Head!.Header.Series;
                since[series] = Math.Min(since.GetValueOrDefault(series, long.MaxValue), from);
                points[series] = points.GetValueOrDefault(series) + count;
            }
        }

        _provisional = new GridProvisional(since, points);
    }

    /// <summary>How far behind each peer is: the points of the deltas it lacked at its last vector, and the age of the oldest.</summary>
    private void MeasureLag(long nowMs)
    {
        foreach (var peer in _peers.Values)
        {
            if (_active!.Node.BehindAt(peer.Handle) is not { } gaps)
                continue;
            long points = 0;
            var oldest = long.MaxValue;
            foreach (var (stream, from, to) in gaps)
            {
                var (count, hlc) = _active.Log.Summarize(stream, from, to);
                points += count;
                if (hlc > 0)
                    oldest = Math.Min(oldest, hlc >> WriteStamp.CounterBits);
            }

            peer.PointsBehind = points;
            peer.BehindMs = gaps.Count == 0 ? 0 : oldest == long.MaxValue ? 0 : Math.Max(0, nowMs - oldest);
            UpdateView(peer);
        }
    }

    /// <summary>
    /// Merges what peers' deltas brought (with their origin's stamps), then keeps the deltas: a crash between the
    /// two makes the hub ask for them again, and merging twice changes nothing. This hub's own deltas are kept before
    /// anything is sent.
    /// </summary>
    private async Task ApplyChangesAsync(PeerState? from)
    {
        ShowNode(); // before the points reach the store: whoever sees them sees the clock they brought
        var changes = _active!.Node.DrainChanges();
        if (changes.Count == 0)
            return;
        var me = _identity.Keys.HubId;
        var applied = new List<SignedDelta>();
        var withdrawn = new List<SignedDelta>();
        var readings = new List<StampedReading>();
        foreach (var change in changes)
        {
            if (change.Withdrawn)
            {
                withdrawn.Add(change.Delta);
                continue;
            }

            applied.Add(change.Delta);
            var header = change.Delta.Header;
            if (header.Origin == me)
                continue;
            if (header.Tier == ResolutionTier.Device)
            {
                var key = StreamKey.Of(header);
                var context = CodedDeviceBody.NeedsContext(change.Delta.Body) ? _deviceContexts.ForDecoding(key, header.Seq, _active.Node.Store.Stream(key)) : null;
                var deviceBody = DeviceBody.TryDecode(change.Delta.Body, header, context, out var next, out var deviceError);
                _deviceContexts.After(key, header.Seq, next);
                if (deviceBody is not null)
                {
                    readings.AddRange(deviceBody.ToReadings(DeviceBody.DeviceOf(header.Series)!, header.Origin.ToString()));
                    if (readings.Count >= MergeSlice)
                    {
                        await _merge(readings, _stop.Token);
                        readings = [];
                    }
                }
                else
                    _logger.LogWarning("Grid: delta {Seq} of {Series} from hub {Origin} holds no valid points ({Error}); it is kept in the chain, its points are not stored", header.Seq, header.Series, header.Origin, deviceError);
                continue;
            }

            if (header.Tier != ResolutionTier.Raw)
                continue;
            var body = PointsBody.TryDecode(change.Delta.Body, header, out var error);
            if (body is null || !SeriesKey.TryParse(header.Series, out var series))
            {
                _logger.LogWarning("Grid: delta {Seq} of {Series} from hub {Origin} holds no valid points ({Error}); it is kept in the chain, its points are not stored", header.Seq, header.Series, header.Origin, error ?? "bad series");
                continue;
            }

            readings.AddRange(body.ToReadings(series, header.Origin.ToString()));
            if (readings.Count >= MergeSlice)
            {
                await _merge(readings, _stop.Token);
                readings = [];
            }
        }

        if (readings.Count > 0)
            await _merge(readings, _stop.Token);
        if (withdrawn.Count > 0)
        {
            _logger.LogWarning("Grid: {Count} deltas withdrawn by a fork proof; their points stay in the store", withdrawn.Count);
            _active.Log.Withdraw(withdrawn);

            // Applied and withdrawn by the same step: never saved, so not saved now either.
            var gone = withdrawn.Select(d => d.Id).ToHashSet();
            applied.RemoveAll(d => gone.Contains(d.Id));
        }

        _active.Log.Save(applied, _active.Node.Store.Proofs, _active.Node.LastHlc);
        _active.Node.Store.MarkSaved();
        var remote = applied.Count(d => d.Header.Origin != me);
        Interlocked.Add(ref _applied, remote);
        if (from is not null)
            from.DeltasIn += remote;
    }

    /// <summary>The held-back count and the grid clock for <see cref="Links"/> (the loop alone touches the node).</summary>
    private void ShowNode()
    {
        if (_active is not { } active)
            return;
        Interlocked.Exchange(ref _held, active.Node.Store.HeldFutureCount);
        Interlocked.Exchange(ref _clockHlc, active.Node.LastHlc);
    }

    private void Gather(Work.LocalWrites local)
    {
        Dictionary<(SeriesKey, long), long>? corrected = null;
        foreach (var correction in local.Corrections)
            (corrected ??= [])[(correction.Series, correction.TimestampMs)] = correction.Hlc;
        foreach (var reading in local.Readings)
        {
            if (reading.TimestampMs < 0 || reading.TimestampMs > DeltaHeader.MaxTimeMs)
                continue;
            if (!_pendingLocal.TryGetValue(reading.Series, out var pending) || pending.Unit != reading.Unit)
                _pendingLocal[reading.Series] = pending = new PendingSeries(reading.Unit);
            var hlc = corrected is not null && corrected.TryGetValue((reading.Series, reading.TimestampMs), out var c) ? c : 0;
            pending.Points[reading.TimestampMs] = (reading.Value, hlc);
        }
    }

    private void AuthorPending()
    {
        if (_active is null || _pendingLocal.Count == 0)
            return;
        var output = new List<Outgoing>();
        foreach (var device in _pendingLocal.GroupBy(p => p.Key.Device))
        {
            // Several series of one device in one gathering: one delta (a station's readings of a minute, a vehicle's
            // PIDs of a poll), unless they are too many or too far apart for one.
            var series = device.OrderBy(p => p.Key.Metric, StringComparer.Ordinal).ToList();
            var all = series.SelectMany(p => p.Value.Points.Keys).ToList();
            if (series.Count > 1 && series.Count <= DeviceBody.MaxSeries && all.Count <= PointsBody.MaxPoints && all.Max() - all.Min() < DeltaHeader.MaxWindowMs
                && AuthorDevice(device.Key, series, output))
                continue;

            foreach (var (key, pending) in series)
            {
                var points = pending.Points.ToArray();
                Author(key, pending.Unit, [.. points.Select(p => p.Key)], [.. points.Select(p => p.Value.Value)], [.. points.Select(p => p.Value.Hlc)], output);
            }
        }

        Persist();
        _pendingLocal.Clear(); // only once its deltas are durable: a failed save keeps the points for the next try
        Dispatch(output);
    }

    /// <summary>One delta of the device's series; false when its body would not fit a delta (the caller sends them per series).</summary>
    private bool AuthorDevice(string device, List<KeyValuePair<SeriesKey, PendingSeries>> series, List<Outgoing> output)
    {
        var bodies = new List<(string, PointsBody)>();
        foreach (var (key, pending) in series)
        {
            var times = pending.Points.Keys.ToArray();
            var corrections = new List<(int, long)>();
            var index = 0;
            foreach (var (time, (_, hlc)) in pending.Points)
            {
                if (hlc != 0 && hlc != WriteStamp.HlcOf(time))
                    corrections.Add((index, hlc));
                index++;
            }

            bodies.Add((key.Metric, new PointsBody(pending.Unit, times, [.. pending.Points.Values.Select(p => p.Value)], corrections)));
        }

        var t0 = bodies.Min(b => b.Item2.Times[0]);
        var t1 = bodies.Max(b => b.Item2.Times[^1]) + 1;
        var name = DeviceBody.SeriesOf(device);
        var stream = new StreamKey(_identity.Keys.HubId, DeltaHeader.StreamIdOf(name, ResolutionTier.Device));
        var body = CodedDeviceBody.Encode(new DeviceBody(bodies), _deviceContexts.ForAuthoring(stream, _active!.Node.Store.Stream(stream)?.Top ?? 0), t0, out var next);
        if (body.Length > DeltaHeader.MaxBodyLength)
            return false;
        var delta = _active.Node.Write(name, ResolutionTier.Device, t0, t1, body, _time.GetUtcNow().ToUnixTimeMilliseconds(), UpHandles(), output);
        _deviceContexts.Authored(stream, delta?.Header.Seq ?? 0, delta is null ? null : next);
        if (delta is not null)
            Interlocked.Increment(ref _authored);
        return true;
    }

    /// <summary>Points of one series (ascending times), split into deltas of at most a bucket of points within one window each.</summary>
    private void Author(SeriesKey series, string unit, long[] times, double[] values, long[] hlcs, List<Outgoing> output)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var start = 0;
        while (start < times.Length)
        {
            var end = start + 1;
            while (end < times.Length && end - start < PointsBody.MaxPoints && times[end] - times[start] < DeltaHeader.MaxWindowMs)
                end++;
            var corrections = new List<(int, long)>();
            for (var i = start; i < end; i++)
            {
                if (hlcs[i] != 0 && hlcs[i] != WriteStamp.HlcOf(times[i]))
                    corrections.Add((i - start, hlcs[i]));
            }

            var body = new PointsBody(unit, times[start..end], values[start..end], corrections).Encode();
            if (_active!.Node.Write(series.Id, ResolutionTier.Raw, times[start], times[end - 1] + 1, body, now, UpHandles(), output) is not null)
                Interlocked.Increment(ref _authored);
            start = end;
        }
    }

    /// <summary>This hub's own deltas are durable before any of them is sent (signing another at the same seq after a crash would fork the stream).</summary>
    private void Persist()
    {
        var changes = _active!.Node.DrainChanges();
        var gone = changes.Where(c => c.Withdrawn).Select(c => c.Delta.Id).ToHashSet();
        if (gone.Count > 0)
            _active.Log.Withdraw(changes.Where(c => c.Withdrawn).Select(c => c.Delta));
        _active.Log.Save(changes.Where(c => !c.Withdrawn && !gone.Contains(c.Delta.Id)).Select(c => c.Delta), _active.Node.Store.Proofs, _active.Node.LastHlc);
        _active.Node.Store.MarkSaved();
    }

    /// <summary>
    /// Sends this hub's own points of every bucket changed since the author cursor: its history from before the
    /// grid, and whatever it wrote while a crash kept the hook's deltas from being made. Points already sent go again
    /// (merging them changes nothing); none is missed.
    /// </summary>
    private async Task AuthorHistoryAsync()
    {
        _historyOwed = true; // until it finished: a failure part-way leaves it owed, and the cursor stays put
        await _store.CheckpointAsync();
        var cursor = _active!.Log.AuthorCursor;
        var me = _identity.Keys.HubId.ToString();
        long buckets = 0;
        while (true)
        {
            var page = await _store.ReadChangesAsync(cursor, 1000, _stop.Token);
            var output = new List<Outgoing>();
            foreach (var change in page.Changes)
            {
                var bucket = await _store.ReadStampedBucketAsync(change.Series, change.BucketStart, _stop.Token);
                if (bucket is null)
                    continue;
                var mine = Enumerable.Range(0, bucket.Times.Length).Where(i => bucket.Stamps[i].Origin == me && bucket.Times[i] >= 0).ToList();
                if (mine.Count == 0)
                    continue;
                Author(change.Series, bucket.Unit, [.. mine.Select(i => bucket.Times[i])], [.. mine.Select(i => bucket.Values[i])], [.. mine.Select(i => bucket.Stamps[i].Hlc)], output);
                buckets++;
            }

            Persist();
            Dispatch(output);
            cursor = page.Cursor;
            _active.Log.AuthorCursor = cursor;
            if (!page.More)
                break;
        }

        _cursorSeen = cursor;
        _historyOwed = false;
        if (buckets > 0)
            _logger.LogInformation("Grid: this hub's points of {Buckets} buckets written before or outside the grid are sent as deltas", buckets);
    }

    /// <summary>
    /// Moves the author cursor to the newest change seen a minute ago: by then every hook call for those points has
    /// long reached this loop, so a restart need not send them again.
    /// </summary>
    private async Task AdvanceAuthorCursorAsync(long nowMs)
    {
        if (nowMs < _cursorTickAt || _pendingLocal.Count > 0)
            return;
        _cursorTickAt = nowMs + 60_000;
        if (_cursorSeen > _active!.Log.AuthorCursor)
            _active.Log.AuthorCursor = _cursorSeen;
        var cursor = _cursorSeen;
        while (true)
        {
            var page = await _store.ReadChangesAsync(cursor, 100_000, _stop.Token);
            cursor = page.Cursor;
            if (!page.More)
                break;
        }

        _cursorSeen = cursor;
    }

    private void Dispatch(List<Outgoing> output)
    {
        foreach (var outgoing in output)
        {
            if (_byHandle.TryGetValue(outgoing.To, out var peer))
                Send(peer, outgoing.Message);
        }
    }

    private void Send(PeerState peer, byte[] message)
    {
        peer.BytesOut += message.Length;
        _links!.Send(peer.Hub, message);
    }

    private byte[] RecordsMessage() =>
        new SyncMessage(SyncMessageKind.Records) { Items = [.. _membership.Records().Select(r => r.Encode())] }.Encode();

    private List<int> UpHandles() => [.. _peers.Values.Where(p => p.Up > 0).Select(p => p.Handle)];

    private PeerState Peer(Id128 hub)
    {
        if (!_peers.TryGetValue(hub, out var peer))
        {
            _peers[hub] = peer = new PeerState(hub, _peers.Count + 1);
            _byHandle[peer.Handle] = peer;
        }

        return peer;
    }

    private void UpdateView(PeerState peer) =>
        _peerViews[peer.Hub.ToString()] = new GridPeerView(peer.Hub.ToString(), peer.Address, peer.Up > 0 ? "up" : "down", peer.LastContact, peer.BytesIn, peer.BytesOut, peer.DeltasIn, peer.DeltasRefused, peer.PointsBehind, peer.BehindMs);

    private static List<string> AdvertisedAddresses(string bindAddress, int port)
    {
        if (IPAddress.TryParse(bindAddress, out var bound) && !bound.Equals(IPAddress.Any) && !bound.Equals(IPAddress.IPv6Any))
            return [Format(bound, port)];
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork || (a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal))
            .OrderBy(a => IPAddress.IsLoopback(a))
            .ThenBy(a => a.AddressFamily != AddressFamily.InterNetwork)
            .Select(a => Format(a, port))
            .Take(Invitation.MaxAddresses)
            .ToList();
        return addresses.Count > 0 ? addresses : [$"127.0.0.1:{port}"];
    }

    private static string Format(IPAddress address, int port) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";

    private sealed record Active(Id128 Grid, DeltaLog Log, SyncNode Node);

    private sealed record BeaconState(byte[] Key, Id128 Grid, IReadOnlyDictionary<Id128, VerifyingKey> Members);

    private sealed class PendingSeries(string unit)
    {
        public string Unit { get; } = unit;

        public SortedDictionary<long, (double Value, long Hlc)> Points { get; } = [];
    }

    private sealed class PeerState(Id128 hub, int handle)
    {
        public Id128 Hub { get; } = hub;

        public int Handle { get; } = handle;

        public int Up { get; set; }

        public string? Address { get; set; }

        public DateTimeOffset? LastContact { get; set; }

        public long BytesIn { get; set; }

        public long BytesOut { get; set; }

        public long DeltasIn { get; set; }

        public long DeltasRefused { get; set; }

        public long? PointsBehind { get; set; }

        public long? BehindMs { get; set; }
    }

    private sealed class Joining(Invitation invitation)
    {
        public Invitation Invitation { get; } = invitation;

        public TaskCompletionSource<GridView> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile string? LastProblem;
    }

    private abstract record Work
    {
        public sealed record MembershipChanged : Work;

        public sealed record LocalWrites(Reading[] Readings, ColumnCorrection[] Corrections) : Work;

        public sealed record Flush : Work;

        public sealed record Link(LinkEvent Event) : Work;

        public sealed record Tick : Work;

        public sealed record Join(Joining Joining) : Work;

        public sealed record Beacon(IPAddress From, byte[] Message) : Work;

        public sealed record Resolved(PeerAddress Peer, IPAddress[] Addresses) : Work;

        public sealed record JoinEnded(Joining Joining) : Work;
    }
}
