using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// Every stream this hub holds, and the deltas whose clock is too far ahead. Pure state: offers in, what changed
/// out; the caller persists applied deltas and proofs, merges applied bodies into the store, and observes the
/// clock of applied deltas only, so a peer whose clock runs ahead never drags ours with it. With an archive, what
/// the caller saved (<see cref="MarkSaved"/>) leaves memory: a stream keeps its top and head, the rest is read back.
/// </summary>
internal sealed class DeltaStore
{
    private readonly long _maxSkewMs;
    private readonly IDeltaArchive? _archive;
    private readonly SortedDictionary<StreamKey, StreamLog> _streams = [];
    private readonly Dictionary<Hash256, SignedDelta> _future = [];
    private readonly Dictionary<Hash256, SignedDelta> _unsaved = [];
    private readonly Dictionary<ulong, StreamKey> _byRef = [];
    private readonly HashSet<ulong> _ambiguousRefs = [];

    public DeltaStore(long maxSkewMs, IDeltaArchive? archive = null)
    {
        _maxSkewMs = maxSkewMs;
        _archive = archive;
        if (archive is null)
            return;
        foreach (var (stream, top, head) in archive.Heads())
            Log(stream).Restore(top, head);
    }

    public long MaxSkewMs => _maxSkewMs;

    public IEnumerable<StreamLog> Streams => _streams.Values;

    /// <summary>Every applied delta, read back from the archive too: for tests and small logs only.</summary>
    public IEnumerable<SignedDelta> Applied => _streams.Values.SelectMany(s => s.Applied);

    /// <summary>How many deltas are applied.</summary>
    public long Count => (_archive?.Count ?? 0) + _unsaved.Count;

    /// <summary>(clock, id) of every applied delta, ascending: the set reconciliation runs over.</summary>
    public IEnumerable<ReconcileItem> Items() =>
        (_archive?.Items() ?? []).Concat(_unsaved.Values.Select(d => new ReconcileItem((ulong)d.Header.Hlc, d.Id))).Order();

    /// <summary>The caller saved every delta applied so far in the archive.</summary>
    public void MarkSaved()
    {
        if (_archive is null)
            return;
        foreach (var stream in _streams.Values)
            stream.MarkSaved();
        _unsaved.Clear();
    }

    public IEnumerable<ForkProof> Proofs => _streams.Values.Where(s => s.Fork is not null).Select(s => s.Fork!);

    public int HeldFutureCount => _future.Count;

    public StreamLog? Stream(StreamKey key) => _streams.GetValueOrDefault(key);

    /// <summary>The applied delta <paramref name="seq"/> of the stream a <see cref="CompactDelta"/> reference names, or null.</summary>
    public SignedDelta? At(ulong reference, ulong seq) =>
        !_ambiguousRefs.Contains(reference) && _byRef.TryGetValue(reference, out var key) && _streams.TryGetValue(key, out var log) ? log.At(seq) : null;

    /// <summary>An applied delta by id (a peer asked for it after reconciliation).</summary>
    public SignedDelta? Find(Hash256 id) => _unsaved.GetValueOrDefault(id) ?? _archive?.Find(id);

    /// <summary>Whether this delta is already applied or held (a copy needs no second signature check).</summary>
    public bool Holds(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return _future.ContainsKey(delta.Id) || (_streams.GetValueOrDefault(StreamKey.Of(delta.Header))?.Holds(delta) ?? false);
    }

    /// <summary>Puts back a delta this hub had applied and persisted (at start, without an archive): no clock check, it was done then.</summary>
    public OfferResult Restore(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return Track(Log(StreamKey.Of(delta.Header)).Offer(delta, tooFarAhead: false));
    }

    /// <summary>Offers a delta that <see cref="DeltaVerifier"/> accepted.</summary>
    public OfferResult Offer(SignedDelta delta, long nowHlc)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var tooFarAhead = delta.Header.Hlc > nowHlc + WriteStamp.HlcOf(_maxSkewMs);
        var result = Track(Log(StreamKey.Of(delta.Header)).Offer(delta, tooFarAhead));
        if (result.Outcome == OfferOutcome.HeldFuture)
            _future.TryAdd(delta.Id, delta);
        return result;
    }

    /// <summary>Offers again the deltas whose clock <paramref name="nowHlc"/> has caught up with.</summary>
    public IReadOnlyList<OfferResult> ReleaseDue(long nowHlc)
    {
        var due = _future.Values.Where(d => d.Header.Hlc <= nowHlc + WriteStamp.HlcOf(_maxSkewMs))
            .OrderBy(d => d.Header.Seq).ToList();
        var results = new List<OfferResult>();
        foreach (var delta in due)
        {
            _future.Remove(delta.Id);
            results.Add(Offer(delta, nowHlc));
        }

        return results;
    }

    /// <summary>Takes a verified proof; returns what it changed (nothing when an equal or smaller proof is held).</summary>
    public OfferResult ImportProof(ForkProof proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        var result = Track(Log(new StreamKey(proof.Origin, proof.Stream)).Freeze(proof));
        foreach (var stale in _future.Values.Where(d => d.Header.Origin == proof.Origin && d.Header.Stream == proof.Stream && d.Header.Seq >= proof.Seq).ToList())
            _future.Remove(stale.Id);
        return result;
    }

    private OfferResult Track(OfferResult result)
    {
        // Without an archive nothing is ever saved: every applied delta stays here.
        foreach (var delta in result.Applied)
            _unsaved[delta.Id] = delta;
        foreach (var delta in result.Withdrawn)
            _unsaved.Remove(delta.Id);
        return result;
    }

    private StreamLog Log(StreamKey key)
    {
        if (!_streams.TryGetValue(key, out var log))
        {
            _streams[key] = log = new StreamLog(key, _archive);

            // Two streams under one reference (by chance, or ground by a member's series names): neither is found by
            // it, so their compact deltas wait for a catch-up in full instead of failing as bad signatures.
            var reference = CompactDelta.RefOf(key);
            if (!_byRef.TryAdd(reference, key))
                _ambiguousRefs.Add(reference);
        }

        return log;
    }
}
