using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Membership;

/// <summary>
/// What the grid says about one member hub: its Ed25519 key (its id follows from it), the series prefixes it may
/// write (an empty prefix: all), its key epoch, and its CURVE public key, which peers pin when they connect to it.
/// </summary>
internal sealed record MemberCertificate(byte[] HubKey, uint KeyEpoch, byte[] CurveKey, IReadOnlyList<string> WritablePrefixes)
{
    public const int MaxPrefixes = 32;
    private const int MaxPrefixBytes = 129;

    public Id128 HubId => HubKeys.HubIdOf(HubKey);

    public void Write(WireWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Bytes(HubKey);
        w.U32(KeyEpoch);
        w.Bytes(CurveKey);
        w.U8((byte)WritablePrefixes.Count);
        foreach (var prefix in WritablePrefixes)
            w.ShortString(prefix);
    }

    public static MemberCertificate? TryRead(ref WireReader reader)
    {
        if (!reader.Bytes(32, "member key", out var hubKey) || !reader.U32("key epoch", out var epoch)
            || !reader.Bytes(32, "CURVE key", out var curve) || !reader.U8("prefix count", out var count))
            return null;
        if (count > MaxPrefixes)
        {
            reader.Fail($"{count} writable prefixes, at most {MaxPrefixes}");
            return null;
        }

        var prefixes = new List<string>();
        for (var i = 0; i < count; i++)
        {
            if (!reader.ShortString("writable prefix", MaxPrefixBytes, out var prefix))
                return null;
            prefixes.Add(prefix);
        }

        var certificate = new MemberCertificate(hubKey.ToArray(), epoch, curve.ToArray(), prefixes);
        var error = certificate.Validate();
        if (error is null)
            return certificate;
        reader.Fail(error);
        return null;
    }

    public string? Validate()
    {
        if (HubKey.Length != 32 || CurveKey.Length != 32)
            return "member and CURVE keys are 32 bytes each";
        if (StrictEd25519.CheckPublicKey(HubKey) is { } keyError)
            return $"member key refused: {keyError}";
        if (CurveKey.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            return "the CURVE key is all zeros";
        if (WritablePrefixes.Count > MaxPrefixes)
            return $"{WritablePrefixes.Count} writable prefixes, at most {MaxPrefixes}";
        foreach (var prefix in WritablePrefixes)
        {
            if (prefix.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '/')))
                return $"writable prefix '{prefix}' has characters a series id cannot have";
        }

        return null;
    }
}
