using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// Every stream this hub holds, and the deltas whose clock is too far ahead. Pure state: offers in, what changed
/// out; the caller persists applied deltas and proofs, merges applied bodies into the store, and observes the
/// clock of applied deltas only, so a peer whose clock runs ahead never drags ours with it.
/// </summary>
internal sealed class DeltaStore(long maxSkewMs)
{
    private readonly SortedDictionary<StreamKey, StreamLog> _streams = [];
    private readonly Dictionary<Hash256, SignedDelta> _future = [];
    private readonly Dictionary<Hash256, SignedDelta> _applied = [];

    public long MaxSkewMs => maxSkewMs;

    public IEnumerable<StreamLog> Streams => _streams.Values;

    public IEnumerable<SignedDelta> Applied => _streams.Values.SelectMany(s => s.Applied);

    public IEnumerable<ForkProof> Proofs => _streams.Values.Where(s => s.Fork is not null).Select(s => s.Fork!);

    public int HeldFutureCount => _future.Count;

    public StreamLog? Stream(StreamKey key) => _streams.GetValueOrDefault(key);

    /// <summary>An applied delta by id (a peer asked for it after reconciliation).</summary>
    public SignedDelta? Find(Hash256 id) => _applied.GetValueOrDefault(id);

    /// <summary>Whether this delta is already applied or held (a copy needs no second signature check).</summary>
    public bool Holds(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return _future.ContainsKey(delta.Id) || (_streams.GetValueOrDefault(StreamKey.Of(delta.Header))?.Holds(delta) ?? false);
    }

    /// <summary>Puts back a delta this hub had applied and persisted (at start): no clock check, it was done then.</summary>
    public OfferResult Restore(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return Track(Log(StreamKey.Of(delta.Header)).Offer(delta, tooFarAhead: false));
    }

    /// <summary>Offers a delta that <see cref="DeltaVerifier"/> accepted.</summary>
    public OfferResult Offer(SignedDelta delta, long nowHlc)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var tooFarAhead = delta.Header.Hlc > nowHlc + WriteStamp.HlcOf(maxSkewMs);
        var result = Track(Log(StreamKey.Of(delta.Header)).Offer(delta, tooFarAhead));
        if (result.Outcome == OfferOutcome.HeldFuture)
            _future.TryAdd(delta.Id, delta);
        return result;
    }

    /// <summary>Offers again the deltas whose clock <paramref name="nowHlc"/> has caught up with.</summary>
    public IReadOnlyList<OfferResult> ReleaseDue(long nowHlc)
    {
        var due = _future.Values.Where(d => d.Header.Hlc <= nowHlc + WriteStamp.HlcOf(maxSkewMs))
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
        foreach (var delta in result.Applied)
            _applied[delta.Id] = delta;
        foreach (var delta in result.Withdrawn)
            _applied.Remove(delta.Id);
        return result;
    }

    private StreamLog Log(StreamKey key)
    {
        if (!_streams.TryGetValue(key, out var log))
            _streams[key] = log = new StreamLog(key);
        return log;
    }
}
