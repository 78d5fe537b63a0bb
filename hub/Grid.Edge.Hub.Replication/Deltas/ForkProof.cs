using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// Two signed headers by one origin that cannot both be its history: two different deltas at the same seq, or a
/// delta whose named predecessor is not the other delta one seq below. Either proves the origin forked its stream
/// at <see cref="Seq"/> (a cloned SD card, a restored backup, a stolen key). It is small (no bodies), checkable by
/// anyone with the origin's key, and travels to every hub, which then freezes the stream below that seq. Proofs
/// are ordered (<see cref="CompareTo"/>) so every hub keeps the same one per stream whatever it saw first.
/// </summary>
internal sealed class ForkProof : IComparable<ForkProof>
{
    private ForkProof(SignedDelta lower, SignedDelta upper)
    {
        Lower = lower;
        Upper = upper;
    }

    /// <summary>For two versions of a seq, the one with the smaller id; for a broken chain, the delta at <see cref="Seq"/>.</summary>
    public SignedDelta Lower { get; }

    public SignedDelta Upper { get; }

    public Id128 Origin => Lower.Header.Origin;

    public Id128 Stream => Lower.Header.Stream;

    public ulong Seq => Lower.Header.Seq;

    /// <summary>The proof two deltas of one stream make, or null when they are consistent (or not of one stream).</summary>
    public static ForkProof? Of(SignedDelta a, SignedDelta b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var (ha, hb) = (a.Header, b.Header);
        if (ha.Grid != hb.Grid || ha.Origin != hb.Origin || ha.Stream != hb.Stream || ha.KeyId != hb.KeyId)
            return null;
        if (ha.Seq == hb.Seq)
            return a.Id == b.Id ? null : a.Id.CompareTo(b.Id) < 0 ? new ForkProof(a, b) : new ForkProof(b, a);
        var (low, high) = ha.Seq < hb.Seq ? (a, b) : (b, a);
        return high.Header.Seq == low.Header.Seq + 1 && high.Header.Previous != low.Id ? new ForkProof(low, high) : null;
    }

    /// <summary>Checks both signatures: a proof is only as good as the origin's own two signatures.</summary>
    public DeltaRefusal? Verify(DeltaVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        return verifier.Verify(Lower) ?? verifier.Verify(Upper);
    }

    public byte[] Encode()
    {
        var w = new WireWriter();
        var lower = Lower.EncodeSignedHeader();
        w.U16((ushort)lower.Length);
        w.Bytes(lower);
        w.Bytes(Upper.EncodeSignedHeader());
        return w.ToArray();
    }

    public static ForkProof? TryDecode(ReadOnlySpan<byte> data, out string? error)
    {
        var reader = new WireReader(data);
        if (!reader.U16("first header length", out var length) || !reader.Bytes(length, "first header", out var first))
        {
            error = reader.Error;
            return null;
        }

        var a = SignedDelta.TryDecodeSignedHeader(first, out error);
        var b = a is null ? null : SignedDelta.TryDecodeSignedHeader(data[reader.Position..], out error);
        if (a is null || b is null)
            return null;
        var proof = Of(a, b);
        error = proof is null ? "the two headers do not contradict each other" : null;
        return proof;
    }

    /// <summary>Lower seq first (it freezes more), then by ids: a total order every hub agrees on.</summary>
    public int CompareTo(ForkProof? other)
    {
        if (other is null)
            return 1;
        var c = Seq.CompareTo(other.Seq);
        if (c == 0)
            c = Lower.Id.CompareTo(other.Lower.Id);
        return c != 0 ? c : Upper.Id.CompareTo(other.Upper.Id);
    }
}
