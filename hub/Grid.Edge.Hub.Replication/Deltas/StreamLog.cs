using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>One origin's stream, as this hub knows it.</summary>
internal readonly record struct StreamKey(Id128 Origin, Id128 Stream) : IComparable<StreamKey>
{
    public int CompareTo(StreamKey other)
    {
        var c = Origin.CompareTo(other.Origin);
        return c != 0 ? c : Stream.CompareTo(other.Stream);
    }

    public static StreamKey Of(DeltaHeader header) => new(header.Origin, header.Stream);
}

internal enum OfferOutcome
{
    /// <summary>Applied, with any held successors it released (in seq order).</summary>
    Applied,

    /// <summary>Already held: nothing changes (a second copy through another peer, a replay).</summary>
    Duplicate,

    /// <summary>Ahead of a gap: kept until the gap fills, not applied yet.</summary>
    HeldForGap,

    /// <summary>Its clock is beyond now + the allowed skew: kept aside and offered again later, never dropped.</summary>
    HeldFuture,

    /// <summary>It contradicts a delta already held: the stream is frozen below the fork and the proof kept.</summary>
    Forked,

    /// <summary>At or above the seq where its stream forked: refused, and never asked for again.</summary>
    Frozen,
}

/// <summary>What an offer changed: deltas newly applied and, when a fork froze the stream, deltas no longer applied.</summary>
internal sealed record OfferResult(OfferOutcome Outcome, IReadOnlyList<SignedDelta> Applied, IReadOnlyList<SignedDelta> Withdrawn, ForkProof? Proof)
{
    public static readonly OfferResult Nothing = new(OfferOutcome.Duplicate, [], [], null);

    public static OfferResult Of(OfferOutcome outcome) => new(outcome, [], [], null);
}

/// <summary>
/// The deltas of one (origin, stream): applied contiguously from seq 1, those beyond a gap held until it fills,
/// and the fork proof once the origin contradicted itself. The rules make the applied set a function of the set
/// of deltas offered, whatever their order or repetition: a delta applies only after its predecessor, whose id
/// it must name; a second version of a seq yields a proof, and the smallest proof (by seq, then ids) freezes the
/// stream below its seq on every hub, so hubs that saw the two versions in either order end up equal.
/// </summary>
internal sealed class StreamLog(StreamKey key)
{
    private readonly List<SignedDelta> _applied = [];
    private readonly SortedDictionary<ulong, SignedDelta> _held = [];

    public StreamKey Key => key;

    /// <summary>The highest seq applied with all its predecessors (0: none).</summary>
    public ulong Top => (ulong)_applied.Count;

    public ForkProof? Fork { get; private set; }

    public IReadOnlyList<SignedDelta> Applied => _applied;

    public IEnumerable<SignedDelta> HeldForGap => _held.Values;

    public SignedDelta? At(ulong seq) => seq >= 1 && seq <= Top ? _applied[(int)(seq - 1)] : null;

    /// <summary>Whether this very delta is applied or held for a gap (checked before spending a signature check on a copy).</summary>
    public bool Holds(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var seq = delta.Header.Seq;
        return (At(seq) ?? _held.GetValueOrDefault(seq))?.Id == delta.Id;
    }

    public OfferResult Offer(SignedDelta delta, bool tooFarAhead)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var seq = delta.Header.Seq;
        if (Fork is not null && seq >= Fork.Seq)
            return OfferResult.Of(OfferOutcome.Frozen);

        var same = At(seq) ?? _held.GetValueOrDefault(seq);
        if (same is not null)
            return same.Id == delta.Id ? OfferResult.Nothing : Freeze(ForkProof.Of(same, delta)!);

        // A held neighbour may already contradict it; found now, not only when the gap fills.
        foreach (var neighbour in new[] { At(seq - 1) ?? _held.GetValueOrDefault(seq - 1), _held.GetValueOrDefault(seq + 1) })
        {
            if (neighbour is not null && ForkProof.Of(neighbour, delta) is { } proof)
                return Freeze(proof);
        }

        if (tooFarAhead)
            return OfferResult.Of(OfferOutcome.HeldFuture);
        if (seq != Top + 1)
        {
            _held[seq] = delta;
            return OfferResult.Of(OfferOutcome.HeldForGap);
        }

        var applied = new List<SignedDelta> { delta };
        _applied.Add(delta);
        while (_held.Remove(Top + 1, out var next))
        {
            if (ForkProof.Of(_applied[^1], next) is { } proof)
            {
                // Deltas applied by this very offer and withdrawn at once were never visible to anyone.
                var frozen = Freeze(proof);
                return new OfferResult(OfferOutcome.Forked, [.. applied.Except(frozen.Withdrawn)], [.. frozen.Withdrawn.Except(applied)], frozen.Proof);
            }

            _applied.Add(next);
            applied.Add(next);
        }

        return new OfferResult(OfferOutcome.Applied, applied, [], null);
    }

    /// <summary>Takes a (verified) proof about this stream; a smaller one than held replaces it and freezes more.</summary>
    public OfferResult Freeze(ForkProof proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (Fork is not null && proof.CompareTo(Fork) >= 0)
            return OfferResult.Of(OfferOutcome.Frozen);
        Fork = proof;
        var keep = (int)Math.Min((ulong)_applied.Count, proof.Seq - 1);
        var withdrawn = _applied.GetRange(keep, _applied.Count - keep);
        _applied.RemoveRange(keep, _applied.Count - keep);
        foreach (var seq in _held.Keys.Where(s => s >= proof.Seq).ToList())
            _held.Remove(seq);
        return new OfferResult(OfferOutcome.Forked, [], withdrawn, proof);
    }
}
