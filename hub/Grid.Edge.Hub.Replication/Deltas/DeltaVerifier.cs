using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>What a grid member's certificate allows its key to sign: deltas of its own hub, under these series prefixes.</summary>
internal sealed record SignerGrant(VerifyingKey Key, IReadOnlyList<string> WritablePrefixes)
{
    public bool MayWrite(string series) => WritablePrefixes.Any(p => series.StartsWith(p, StringComparison.Ordinal));
}

/// <summary>
/// Checks a decoded delta against the grid: the key it names is a member's, belongs to the origin it names, may
/// write its series, and signed exactly this header. Needs nothing but the membership view, so a relay checks
/// too. Verification costs one Ed25519 check; the result depends only on the bytes and the grants.
/// </summary>
internal sealed class DeltaVerifier(Id128 grid, Func<Id128, SignerGrant?> grants)
{
    public Id128 Grid => grid;

    public DeltaRefusal? Verify(SignedDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var header = delta.Header;
        if (header.Grid != grid)
            return new DeltaRefusal(DeltaRefusalReason.OtherGrid, $"the delta belongs to grid {header.Grid}, this is {grid}");
        var grant = grants(header.KeyId);
        if (grant is null)
            return new DeltaRefusal(DeltaRefusalReason.UnknownKey, $"key {header.KeyId} is not a member's key");
        if (grant.Key.HubId != header.Origin)
            return new DeltaRefusal(DeltaRefusalReason.KeyNotOrigin, $"key {header.KeyId} belongs to hub {grant.Key.HubId}, not to the origin {header.Origin}");
        if (!grant.MayWrite(header.Series))
            return new DeltaRefusal(DeltaRefusalReason.SeriesNotWritable, $"hub {header.Origin} may not write {header.Series}");
        return StrictEd25519.Verify(grant.Key, SignedDelta.SignedMessage(delta.HeaderBytes), delta.Signature, out var error)
            ? null
            : new DeltaRefusal(DeltaRefusalReason.BadSignature, error!);
    }

    /// <summary>Decodes and verifies bytes from a peer: a refusal for anything that is not a valid delta, never an exception.</summary>
    public SignedDelta? TryAccept(ReadOnlySpan<byte> data, out DeltaRefusal? refusal)
    {
        var delta = SignedDelta.TryDecode(data, out var error);
        refusal = delta is null ? new DeltaRefusal(DeltaRefusalReason.Malformed, error!) : Verify(delta);
        return refusal is null ? delta : null;
    }
}
