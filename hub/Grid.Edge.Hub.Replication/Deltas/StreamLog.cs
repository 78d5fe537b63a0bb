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
/// stream below its seq on every hub, so hubs that saw the two versions in either order end up equal. Deltas the
/// host has saved are read back from the archive when needed; only the head and what is not saved yet stay here.
/// </summary>
internal sealed class StreamLog(StreamKey key, IDeltaArchive? archive = null)
{
    private readonly List<SignedDelta> _unsaved = [];
    private readonly SortedDictionary<ulong, SignedDelta> _held = [];
    private ulong _top;
    private ulong _savedTop;

    public StreamKey Key => key;

    /// <summary>The highest seq applied with all its predecessors (0: none).</summary>
    public ulong Top => _top;

    /// <summary>The delta at <see cref="Top"/> (its body may be left out when it came from the archive at start).</summary>
    public SignedDelta? Head { get; private set; }

    public ForkProof? Fork { get; private set; }

    /// <summary>Every applied delta, from the archive and memory: for tests and small logs only.</summary>
    public IEnumerable<SignedDelta> Applied => Range(1, int.MaxValue);

    public IEnumerable<SignedDelta> HeldForGap => _held.Values;

    /// <summary>Applied deltas still in memory because the host has not saved them yet.</summary>
    public int UnsavedCount => _unsaved.Count;

    /// <summary>The applied delta at <paramref name="seq"/>, with its body.</summary>
    public SignedDelta? At(ulong seq) =>
        seq == _top && Head?.Header.Seq == seq ? Head : seq >= 1 && seq <= _top && Range(seq, 1) is [var delta] ? delta : null;

    public Hash256? IdAt(ulong seq)
    {
        if (seq < 1 || seq > _top)
            return null;
        if (seq == _top)
            return Head!.Id;
        return seq > _savedTop ? _unsaved[(int)(seq - _savedTop - 1)].Id : archive?.IdAt(key, seq);
    }

    /// <summary>Applied deltas from <paramref name="from"/> on, at most <paramref name="count"/>, ascending, with their bodies.</summary>
    public IReadOnlyList<SignedDelta> Range(ulong from, int count)
    {
        from = Math.Max(from, 1);
        if (from > _top || count <= 0)
            return [];
        var deltas = new List<SignedDelta>();
        if (from <= _savedTop && archive is not null)
            deltas.AddRange(archive.Range(key, from, (int)Math.Min((ulong)count, _savedTop - from + 1)));
        for (var seq = Math.Max(from, _savedTop + 1); seq <= _top && deltas.Count < count; seq++)
            deltas.Add(_unsaved[(int)(seq - _savedTop - 1)]);
        return deltas;
    }

    /// <summary>Takes the stream back as the archive holds it (at start): the seqs up to <paramref name="top"/> are saved.</summary>
    public void Restore(ulong top, SignedDelta head)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (archive is null)
            throw new InvalidOperationException("a stream without an archive is restored delta by delta");
        (_top, _savedTop, Head) = (top, top, head);
        _unsaved.Clear();
    }

    /// <summary>The host saved every applied delta in the archive: they need not stay in memory.</summary>
    public void MarkSaved()
    {
        if (archive is null)
            return;
        _savedTop = _top;
        _unsaved.Clear();
    }

    /// <summary>Whether this very delta is applied or held for a gap (checked before spending a signature check on a copy).</summary>
    public bool Holds(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var seq = delta.Header.Seq;
        if (IdAt(seq) is { } id)
            return id == delta.Id;
        return _held.TryGetValue(seq, out var held) && held.Id == delta.Id;
    }

    public OfferResult Offer(SignedDelta delta, bool tooFarAhead)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var seq = delta.Header.Seq;
        if (Fork is not null && seq >= Fork.Seq)
            return OfferResult.Of(OfferOutcome.Frozen);

        if (IdAt(seq) is { } appliedId)
            return appliedId == delta.Id ? OfferResult.Nothing : Freeze(ForkProof.Of(seq == _top ? Head! : At(seq)!, delta)!);
        if (_held.TryGetValue(seq, out var same))
            return same.Id == delta.Id ? OfferResult.Nothing : Freeze(ForkProof.Of(same, delta)!);

        // A held neighbour may already contradict it; found now, not only when the gap fills. (Below the top every
        // seq is applied, so the one below is the head or held.)
        var below = seq - 1 == _top ? Head : _held.GetValueOrDefault(seq - 1);
        foreach (var neighbour in new[] { below, _held.GetValueOrDefault(seq + 1) })
        {
            if (neighbour is not null && ForkProof.Of(neighbour, delta) is { } proof)
                return Freeze(proof);
        }

        if (tooFarAhead)
            return OfferResult.Of(OfferOutcome.HeldFuture);
        if (seq != _top + 1)
        {
            _held[seq] = delta;
            return OfferResult.Of(OfferOutcome.HeldForGap);
        }

        var applied = new List<SignedDelta> { delta };
        Append(delta);
        while (_held.Remove(_top + 1, out var next))
        {
            if (ForkProof.Of(Head!, next) is { } proof)
            {
                // Deltas applied by this very offer and withdrawn at once were never visible to anyone.
                var frozen = Freeze(proof);
                return new OfferResult(OfferOutcome.Forked, [.. applied.Except(frozen.Withdrawn)], [.. frozen.Withdrawn.Except(applied)], frozen.Proof);
            }

            Append(next);
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
        var keep = Math.Min(_top, proof.Seq - 1);
        var withdrawn = Range(keep + 1, (int)Math.Min(_top - keep, int.MaxValue)).ToList();
        if (keep >= _savedTop)
            _unsaved.RemoveRange((int)(keep - _savedTop), _unsaved.Count - (int)(keep - _savedTop));
        else
        {
            _unsaved.Clear();
            _savedTop = keep;
        }

        _top = keep;
        Head = keep == 0 ? null : At(keep);
        foreach (var seq in _held.Keys.Where(s => s >= proof.Seq).ToList())
            _held.Remove(seq);
        return new OfferResult(OfferOutcome.Forked, [], withdrawn, proof);
    }

    private void Append(SignedDelta delta)
    {
        _unsaved.Add(delta);
        _top++;
        Head = delta;
    }
}
