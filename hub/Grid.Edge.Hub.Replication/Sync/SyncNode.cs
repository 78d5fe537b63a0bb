using Grid.Edge.Hub.Replication.Catchup;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Sync;

internal sealed record SyncOptions
{
    /// <summary>How far ahead of this hub's clock a delta's clock may be before it is held back (design: MAX_SKEW).</summary>
    public long MaxSkewMs { get; init; } = 300_000;

    public int MaxVectorEntries { get; init; } = 1_000_000;

    /// <summary>Deltas per message when catching a peer up.</summary>
    public int MaxDeltasPerMessage { get; init; } = 256;

    /// <summary>
    /// Bytes of deltas one catch-up answer carries at most; the peer asks for the rest once it applied these. A week
    /// of backlog so moves in bounded rounds, and a live delta waits behind one round at most, never behind the week.
    /// </summary>
    public long CatchUpBytes { get; init; } = 4 << 20;

    /// <summary>While a peer's catch-up answers keep coming (newer than this), the timer sends it no vector of its own: the pull already asks.</summary>
    public long PullQuietMs { get; init; } = 10_000;

    /// <summary>Bytes of deltas per message: a message holds more than one delta only while it stays below this (the transport refuses frames above 4 MB).</summary>
    public int MaxMessageBytes { get; init; } = 2 << 20;
}

/// <summary>A message for one peer; peers are the transport's handles (connections), not hub ids.</summary>
internal readonly record struct Outgoing(int To, byte[] Message);

/// <summary>What the hub must do to its store: merge a newly applied delta's body, or take a withdrawn one's out.</summary>
internal readonly record struct SyncChange(SignedDelta Delta, bool Withdrawn);

/// <summary>What survives a restart: the deltas applied (the hub's durable log), the fork proofs and the clock.</summary>
internal sealed record PersistedSync(IReadOnlyList<byte[]> Deltas, IReadOnlyList<byte[]> Proofs, long LastHlc);

internal enum CatchUpMode
{
    /// <summary>Swap version vectors: the normal catch-up.</summary>
    Vectors,

    /// <summary>Range-based reconciliation over (clock, id) of every applied delta: when logs were compacted.</summary>
    Reconciliation,
}

/// <summary>
/// The sync state machine of one hub, as pure functions: a write, a message from a peer or a timer tick goes in;
/// the messages to send come out, and the store changes are queued for the hub (<see cref="DrainChanges"/>). It
/// never touches a socket, a file or the wall clock, so the transport only moves bytes and the simulation runs it
/// deterministically. Sessions: live push of every new delta and relay of every delta applied from a peer; on a
/// tick, fork proofs first, then a version vector (the peer answers with what we lack and, if it lacks something,
/// its own vector) or a reconciliation session (the initiator sends what the peer lacks and asks for the rest).
/// </summary>
internal sealed class SyncNode
{
    private readonly HubKeys _keys;
    private readonly Id128 _grid;
    private readonly Func<SignedDelta, DeltaRefusal?> _verify;
    private readonly Func<ForkProof, DeltaRefusal?> _verifyProof;
    private readonly SyncOptions _options;
    private readonly List<SyncChange> _changes = [];
    private readonly Dictionary<string, long> _refusals = [];
    private readonly Dictionary<int, (ulong Session, RangeReconciler Reconciler, List<Hash256> Have, List<Hash256> Need)> _sessions = [];
    private readonly Dictionary<int, long> _pullingSince = [];
    private readonly Dictionary<int, long> _answerProgress = [];
    private readonly Dictionary<(int Peer, StreamKey Stream), (ulong From, int Attempts, long NextMs)> _resend = [];
    private const long ResendFirstMs = 2_000;
    private const long ResendMaxMs = 600_000;
    private readonly Dictionary<int, VersionVector> _theirVectors = [];
    private readonly Dictionary<(int Peer, StreamKey Stream), ulong> _sentTop = [];
    private readonly Dictionary<Hash256, SignedDelta> _previousOf = [];
    private long _lastHlc;
    private ulong _nextSession = 1;

    /// <param name="archive">Where the host saves applied deltas (then <see cref="DeltaStore.MarkSaved"/>); the streams start from what it holds. Null: everything stays in memory and <paramref name="restored"/> brings the deltas back.</param>
    public SyncNode(HubKeys keys, DeltaVerifier verifier, SyncOptions options, PersistedSync? restored = null, Func<SignedDelta, DeltaRefusal?>? verify = null, IDeltaArchive? archive = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(verifier);
        _keys = keys;
        _grid = verifier.Grid;
        _verify = verify ?? verifier.Verify;
        _verifyProof = proof => proof.Verify(verifier);
        _options = options ?? new SyncOptions();
        Store = new DeltaStore(_options.MaxSkewMs, archive);
        if (restored is null)
            return;
        _lastHlc = restored.LastHlc;
        foreach (var bytes in restored.Proofs)
            Store.ImportProof(ForkProof.TryDecode(bytes, out var error) ?? throw new InvalidDataException($"a persisted fork proof is damaged: {error}"));
        foreach (var bytes in restored.Deltas)
            Store.Restore(SignedDelta.TryDecode(bytes, out var error) ?? throw new InvalidDataException($"a persisted delta is damaged: {error}"));
    }

    public DeltaStore Store { get; }

    public Id128 HubId => _keys.HubId;

    public long LastHlc => _lastHlc;

    /// <summary>Refused input by reason (malformed message, each delta refusal reason, frozen writes), for the hub's counters.</summary>
    public IReadOnlyDictionary<string, long> Refusals => _refusals;

    public PersistedSync Persist() =>
        new([.. Store.Applied.Select(d => d.Encode())], [.. Store.Proofs.Select(p => p.Encode())], _lastHlc);

    public List<SyncChange> DrainChanges()
    {
        var drained = _changes.ToList();
        _changes.Clear();
        return drained;
    }

    /// <summary>This hub's own new delta of a stream: applied here, then pushed to every peer. Null when the stream is frozen by a fork.</summary>
    public SignedDelta? Write(string series, ResolutionTier tier, long t0, long t1, byte[] body, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(output);
        var log = Store.Stream(new StreamKey(_keys.HubId, DeltaHeader.StreamIdOf(series, tier)));
        if (log?.Fork is not null)
        {
            Count("own stream frozen by a fork");
            return null;
        }

        var previous = log?.Head;
        var author = new StreamAuthor(_grid, series, tier, _keys, previous);
        var delta = author.Next(NextHlc(nowMs), t0, t1, body);
        Record(Store.Offer(delta, _lastHlc));
        Push([(delta, previous)], peers, output);
        return delta;
    }

    /// <summary>A timer: releases deltas whose clock has come, and starts a catch-up with each peer.</summary>
    public void Tick(long nowMs, IReadOnlyList<int> peers, CatchUpMode mode, List<Outgoing> output)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(output);
        var released = new List<SignedDelta>();
        foreach (var result in Store.ReleaseDue(Now(nowMs)))
            released.AddRange(Record(result));
        Relay(released, -1, peers, output);
        var proofs = Store.Proofs.Select(p => p.Encode()).ToList();
        foreach (var peer in peers)
        {
            if (mode == CatchUpMode.Vectors)
            {
                if (Pulling(peer, nowMs))
                    continue;
                output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Vector) { Payload = VersionVector.Of(Store).Encode(), Items = proofs }.Encode()));
                continue;
            }

            if (proofs.Count > 0)
                output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Proofs) { Items = proofs }.Encode()));
            var reconciler = new RangeReconciler(Items());
            var session = _nextSession++;
            _sessions[peer] = (session, reconciler, [], []);
            output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Reconcile) { Session = session, Payload = reconciler.Initiate() }.Encode()));
        }
    }

    /// <summary>
    /// What this hub holds that <paramref name="peer"/> lacked when it last sent its vector (null before it sent one),
    /// per stream as a range of seqs: how far behind it is. Kept while the link is down, so an absent peer's lag keeps
    /// growing with our writes.
    /// </summary>
    public List<(StreamKey Stream, ulong From, ulong To)>? BehindAt(int peer) =>
        _theirVectors.TryGetValue(peer, out var theirs) ? CatchUpPlanner.Gaps(Store, theirs) : null;

    /// <summary>
    /// Per stream of this hub's own, the highest seq some peer's last vector showed it holding: deltas above it have
    /// reached no other hub yet (as far as this hub has heard).
    /// </summary>
    public Dictionary<StreamKey, ulong> ConfirmedOwnTops()
    {
        var confirmed = new Dictionary<StreamKey, ulong>();
        foreach (var vector in _theirVectors.Values)
        {
            foreach (var (stream, (top, _)) in vector.Entries)
            {
                if (stream.Origin == _keys.HubId && top > confirmed.GetValueOrDefault(stream))
                    confirmed[stream] = top;
            }
        }

        return confirmed;
    }

    /// <summary>A link to <paramref name="peer"/> came up or went down: whatever was in flight with it is gone.</summary>
    public void Reset(int peer)
    {
        _pullingSince.Remove(peer);
        _answerProgress.Remove(peer);
        foreach (var key in _resend.Keys.Where(k => k.Peer == peer).ToList())
            _resend.Remove(key);
        foreach (var key in _sentTop.Keys.Where(k => k.Peer == peer).ToList())
            _sentTop.Remove(key);
        _sessions.Remove(peer);
    }

    /// <summary>A message from a peer.</summary>
    public void Receive(int from, ReadOnlySpan<byte> bytes, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(output);
        var message = SyncMessage.TryDecode(bytes, out _);
        if (message is null)
        {
            Count("malformed message");
            return;
        }

        switch (message.Kind)
        {
            case SyncMessageKind.Deltas:
                Relay(Accept(message.Items, nowMs, peers, output), from, peers, output);
                break;
            case SyncMessageKind.CatchUp:
                OnCatchUp(from, message, nowMs, peers, output);
                break;
            case SyncMessageKind.Proofs:
                AcceptProofs(message.Items, from, peers, output);
                break;
            case SyncMessageKind.Vector:
                OnVector(from, message, nowMs, peers, output);
                break;
            case SyncMessageKind.Reconcile:
                var answer = new RangeReconciler(Items()).Respond(message.Payload, out _);
                if (answer is null)
                    Count("malformed reconciliation");
                else
                    output.Add(new Outgoing(from, new SyncMessage(SyncMessageKind.ReconcileReply) { Session = message.Session, Payload = answer }.Encode()));
                break;
            case SyncMessageKind.ReconcileReply:
                OnReconcileReply(from, message, output);
                break;
            case SyncMessageKind.Want:
                SendCatchUp(from, [.. message.Ids.Select(Store.Find).OfType<SignedDelta>()], more: false, output);
                break;
        }
    }

    private void OnVector(int from, SyncMessage message, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        // Proofs first: a stream frozen there is frozen here before anything of it is planned.
        AcceptProofs(message.Items, from, peers, output);
        var theirs = VersionVector.TryDecode(message.Payload, _options.MaxVectorEntries, out _);
        if (theirs is null)
        {
            Count("malformed vector");
            return;
        }

        _theirVectors[from] = theirs;

        // What the vector shows held needs no record of having been sent (the vector says it for compact pushes).
        foreach (var sent in _sentTop.Where(e => e.Key.Peer == from && theirs.Entry(e.Key.Stream).Top >= e.Value).Select(e => e.Key).ToList())
            _sentTop.Remove(sent);
        var missing = CatchUpPlanner.Plan(Store, theirs, _options.CatchUpBytes, out var more, (stream, first) => MaySend(from, stream, first, nowMs));
        foreach (var sent in missing.GroupBy(d => StreamKey.Of(d.Header)))
            Sent(from, sent.Key, sent.Min(d => d.Header.Seq), nowMs);
        SendCatchUp(from, missing, more, output);
        // While we pull from this peer, the pull asks for what we lack: a reply vector would make it send a round twice.
        if (message.IsReply || Pulling(from, nowMs))
            return;
        var mine = VersionVector.Of(Store);
        if (mine.Digest() != theirs.Digest())
            output.Add(new Outgoing(from, new SyncMessage(SyncMessageKind.Vector) { IsReply = true, Payload = mine.Encode(), Items = [.. Store.Proofs.Select(p => p.Encode())] }.Encode()));
    }

    private void OnReconcileReply(int from, SyncMessage message, List<Outgoing> output)
    {
        if (!_sessions.TryGetValue(from, out var state) || state.Session != message.Session)
            return;
        var next = state.Reconciler.Continue(message.Payload, state.Have, state.Need, out _);
        if (next is null)
        {
            Count("malformed reconciliation");
            _sessions.Remove(from);
            return;
        }

        if (next.Length > 0)
        {
            output.Add(new Outgoing(from, new SyncMessage(SyncMessageKind.Reconcile) { Session = state.Session, Payload = next }.Encode()));
            return;
        }

        _sessions.Remove(from);
        SendCatchUp(from, [.. state.Have.Select(Store.Find).OfType<SignedDelta>().OrderBy(d => d.Header.Seq)], more: false, output);
        if (state.Need.Count > 0)
            output.Add(new Outgoing(from, new SyncMessage(SyncMessageKind.Want) { Ids = state.Need }.Encode()));
    }

    /// <summary>
    /// Deltas a peer sent because we asked: applied, not relayed (the other peers ask for themselves), and when the
    /// answer was cut at the peer's budget and moved us on, our vector goes back at once for the next round. An
    /// answer that moved nothing (all held back for a clock ahead of ours) ends the pull: the timer asks again later.
    /// </summary>
    private void OnCatchUp(int from, SyncMessage message, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        var applied = Accept(message.Items, nowMs, peers, output, out var held);
        var progress = _answerProgress.GetValueOrDefault(from) + applied.Count + held;
        if (message.Part)
        {
            // An answer in several messages is under way: the timer keeps quiet while its parts arrive.
            _answerProgress[from] = progress;
            _pullingSince[from] = nowMs;
            return;
        }

        _answerProgress.Remove(from);
        if (!message.More || progress == 0)
        {
            _pullingSince.Remove(from);
            return;
        }

        _pullingSince[from] = nowMs;
        output.Add(new Outgoing(from, new SyncMessage(SyncMessageKind.Vector) { IsReply = true, Payload = VersionVector.Of(Store).Encode(), Items = [.. Store.Proofs.Select(p => p.Encode())] }.Encode()));
    }

    /// <summary>
    /// Whether to send a stream the peer lacks from <paramref name="first"/> on. A stream its vector shows stuck at the
    /// same seq after we sent it (held back for a clock ahead of the peer's, or refused there) is sent again after
    /// 2 s, then 4, 8 ... up to 10 min: not with every round and every vector, which would resend it forever.
    /// </summary>
    private bool MaySend(int peer, StreamKey stream, ulong first, long nowMs) =>
        !_resend.TryGetValue((peer, stream), out var last) || last.From != first || nowMs >= last.NextMs;

    /// <summary>A stream's deltas from <paramref name="first"/> went into an answer (streams the budget left out are not counted).</summary>
    private void Sent(int peer, StreamKey stream, ulong first, long nowMs)
    {
        if (_resend.TryGetValue((peer, stream), out var last) && last.From == first)
        {
            var attempts = last.Attempts + 1;
            _resend[(peer, stream)] = (first, attempts, nowMs + Math.Min(ResendFirstMs << Math.Min(attempts, 20), ResendMaxMs));
            return;
        }

        _resend[(peer, stream)] = (first, 0, nowMs + ResendFirstMs);
    }

    /// <summary>Whether a catch-up from <paramref name="peer"/> is under way (its answers keep coming): our pull asks, no other vector is needed.</summary>
    private bool Pulling(int peer, long nowMs) =>
        _pullingSince.TryGetValue(peer, out var since) && nowMs >= since && nowMs - since < _options.PullQuietMs;

    private List<SignedDelta> Accept(IReadOnlyList<byte[]> items, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output) =>
        Accept(items, nowMs, peers, output, out _);

    private List<SignedDelta> Accept(IReadOnlyList<byte[]> items, long nowMs, IReadOnlyList<int> peers, List<Outgoing> output, out int held)
    {
        held = 0;
        _previousOf.Clear(); // only for the relay of what this call applies: a long catch-up must not keep its deltas here
        var applied = new List<SignedDelta>();
        var proofs = new List<ForkProof>();
        foreach (var item in items)
        {
            var missingPrevious = false;
            var delta = CompactDelta.Is(item) ? CompactDelta.TryDecode(item, Store.At, out missingPrevious, out _) : SignedDelta.TryDecode(item, out _);
            if (delta is null)
            {
                // A live delta that overtook its previous one (lost, or held here): the next catch-up brings both in full.
                Count(missingPrevious ? "live delta ahead of its previous one" : nameof(DeltaRefusalReason.Malformed));
                continue;
            }

            if (Store.Holds(delta))
                continue;
            var refusal = _verify(delta);
            if (refusal is not null)
            {
                Count(refusal.Reason.ToString());
                continue;
            }

            var head = Store.Stream(StreamKey.Of(delta.Header))?.Head;
            if (head is not null && head.Header.Seq + 1 == delta.Header.Seq)
                _previousOf[delta.Id] = head;
            var result = Store.Offer(delta, Now(nowMs));
            if (result.Outcome == OfferOutcome.Frozen)
                Count(nameof(DeltaRefusalReason.StreamForked));
            else if (result.Outcome is OfferOutcome.HeldFuture or OfferOutcome.HeldForGap)
                held++;
            applied.AddRange(Record(result));
            if (result.Proof is not null)
                proofs.Add(result.Proof);
        }

        var encoded = proofs.Select(p => p.Encode()).ToList();
        if (encoded.Count > 0)
        {
            foreach (var peer in peers)
                output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Proofs) { Items = encoded }.Encode()));
        }

        return applied;
    }

    private void AcceptProofs(IReadOnlyList<byte[]> items, int from, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        var adopted = new List<byte[]>();
        foreach (var item in items)
        {
            var proof = ForkProof.TryDecode(item, out _);

            // A proof no smaller than the one held changes nothing: not worth two signature checks (they come with every vector).
            if (proof is not null && Store.Stream(new StreamKey(proof.Origin, proof.Stream))?.Fork is { } held && proof.CompareTo(held) >= 0)
                continue;
            if (proof is null || _verifyProof(proof) is not null)
            {
                Count("bad fork proof");
                continue;
            }

            var result = Store.ImportProof(proof);
            if (result.Proof is not null)
            {
                Record(result);
                adopted.Add(item);
            }
        }

        if (adopted.Count == 0)
            return;
        foreach (var peer in peers.Where(p => p != from))
            output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Proofs) { Items = adopted }.Encode()));
    }

    private void SendCatchUp(int to, List<SignedDelta> deltas, bool more, List<Outgoing> output)
    {
        foreach (var delta in deltas)
        {
            var key = StreamKey.Of(delta.Header);
            _sentTop[(to, key)] = Math.Max(_sentTop.GetValueOrDefault((to, key)), delta.Header.Seq);
        }

        var messages = Messages(deltas).ToList();
        for (var i = 0; i < messages.Count; i++)
            output.Add(new Outgoing(to, new SyncMessage(SyncMessageKind.CatchUp) { More = more && i == messages.Count - 1, Part = i < messages.Count - 1, Items = messages[i] }.Encode()));
    }

    private void Relay(List<SignedDelta> applied, int from, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        if (applied.Count > 0)
        {
            // Each applied delta's previous one: the one applied just before it, or the stream's head when it came.
            var last = new Dictionary<StreamKey, SignedDelta>();
            var pairs = new List<(SignedDelta, SignedDelta?)>(applied.Count);
            foreach (var delta in applied)
            {
                var key = StreamKey.Of(delta.Header);
                var previous = last.TryGetValue(key, out var before) && before.Header.Seq + 1 == delta.Header.Seq ? before : _previousOf.GetValueOrDefault(delta.Id);
                pairs.Add((delta, previous));
                last[key] = delta;
            }

            Push(pairs, [.. peers.Where(p => p != from)], output);
        }

        _previousOf.Clear();
    }

    /// <summary>
    /// Live deltas to each peer, compact (<see cref="CompactDelta"/>) where the peer holds the previous delta of the
    /// stream as far as we know: we sent it on this link, or its last vector showed it.
    /// </summary>
    private void Push(List<(SignedDelta Delta, SignedDelta? Previous)> deltas, IReadOnlyList<int> peers, List<Outgoing> output)
    {
        var compact = deltas.Select(d => d.Previous is not null && CompactDelta.Follows(d.Delta, d.Previous.Header) && d.Delta.Header.Previous == d.Previous.Id
            ? CompactDelta.Encode(d.Delta, d.Previous) : null).ToList();
        var full = deltas.Select(d => d.Delta.Encode()).ToList();
        foreach (var peer in peers)
        {
            var items = new List<byte[]>(deltas.Count);
            for (var i = 0; i < deltas.Count; i++)
            {
                var header = deltas[i].Delta.Header;
                var key = StreamKey.Of(header);
                var holdsPrevious = _sentTop.GetValueOrDefault((peer, key)) + 1 >= header.Seq
                    || (_theirVectors.TryGetValue(peer, out var theirs) && theirs.Entry(key).Top + 1 >= header.Seq);
                items.Add(compact[i] is { } small && holdsPrevious ? small : full[i]);
                _sentTop[(peer, key)] = Math.Max(_sentTop.GetValueOrDefault((peer, key)), header.Seq);
            }

            foreach (var message in Messages(items))
                output.Add(new Outgoing(peer, new SyncMessage(SyncMessageKind.Deltas) { Items = message }.Encode()));
        }
    }

    /// <summary>Deltas packed into messages of at most <see cref="SyncOptions.MaxDeltasPerMessage"/> deltas and about <see cref="SyncOptions.MaxMessageBytes"/> bytes.</summary>
    private IEnumerable<List<byte[]>> Messages(IEnumerable<SignedDelta> deltas) => Messages(deltas.Select(d => d.Encode()));

    private IEnumerable<List<byte[]>> Messages(IEnumerable<byte[]> encodedDeltas)
    {
        var items = new List<byte[]>();
        var bytes = 0;
        foreach (var encoded in encodedDeltas)
        {
            if (items.Count > 0 && (items.Count >= _options.MaxDeltasPerMessage || bytes + encoded.Length > _options.MaxMessageBytes))
            {
                yield return items;
                items = [];
                bytes = 0;
            }

            items.Add(encoded);
            bytes += encoded.Length;
        }

        if (items.Count > 0)
            yield return items;
    }

    private List<SignedDelta> Record(OfferResult result)
    {
        foreach (var delta in result.Withdrawn)
            _changes.Add(new SyncChange(delta, Withdrawn: true));
        foreach (var delta in result.Applied)
        {
            _changes.Add(new SyncChange(delta, Withdrawn: false));
            _lastHlc = Math.Max(_lastHlc, delta.Header.Hlc);
        }

        return [.. result.Applied];
    }

    private IEnumerable<ReconcileItem> Items() => Store.Items();

    /// <summary>
    /// The clock a remote delta is judged by: the host's time (at boot the later of the wall clock and the persisted
    /// clock), not our hybrid clock, which applied deltas may have moved ahead: judging by it would let a fast peer
    /// drag us forward one allowed skew at a time.
    /// </summary>
    private static long Now(long nowMs) => WriteStamp.HlcOf(nowMs);

    private long NextHlc(long nowMs)
    {
        _lastHlc = Math.Max(WriteStamp.HlcOf(nowMs), _lastHlc + 1);
        return _lastHlc;
    }

    private void Count(string reason) => _refusals[reason] = _refusals.GetValueOrDefault(reason) + 1;
}
