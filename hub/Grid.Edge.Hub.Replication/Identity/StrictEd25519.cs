using System.Numerics;
using NSec.Cryptography;

namespace Grid.Edge.Hub.Replication.Identity;

/// <summary>
/// Ed25519 verification with the strict rules the grid relies on, so a signature is a fact about its signer and
/// nothing else: a public key must be a canonical encoding of a point of prime order (no small-order or mixed-order
/// keys, which let one signature verify for several messages), and a signature's S must be below L and its R must
/// not be a small-order point (no malleable second form of a valid signature). libsodium, under NSec, refuses
/// S >= L, small-order R and small-order keys itself; these checks do not depend on its build options or version,
/// and add what it lets through: non-canonical y + p key encodings of non-small points' neighbours and keys with a
/// small-order component (tests: RFC 8032 vectors and our own hand-made edge cases in TestData).
/// </summary>
internal static class StrictEd25519
{
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    // The 255-bit y values of every small-order point, in canonical and non-canonical form, little-endian; an R
    // (sign bit ignored) equal to one of them is refused as libsodium's blocklist does, without curve arithmetic.
    private static readonly byte[][] SmallOrderEncodings = [.. Edwards25519.SmallOrderYs().Select(Encode)];

    private static readonly byte[] LittleEndianL = Encode(Edwards25519.L);

    // The curve check costs about a millisecond of big-integer work and its answer never changes: grids have few
    // keys, so the answers are kept (bounded, so a flood of made-up keys cannot grow it).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<UInt128, (byte[] Key, string? Error)> Checked = new();
    private const int MaxChecked = 4096;

    /// <summary>Why a public key is refused, or null when it is a canonical point of prime order.</summary>
    public static string? CheckPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize)
            return $"a public key is {PublicKeySize} bytes, not {publicKey.Length}";
        var slot = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(publicKey);
        if (Checked.TryGetValue(slot, out var known) && publicKey.SequenceEqual(known.Key))
            return known.Error;
        var error = CheckPoint(publicKey);
        if (Checked.Count >= MaxChecked)
            Checked.Clear();
        Checked[slot] = (publicKey.ToArray(), error);
        return error;
    }

    private static string? CheckPoint(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize)
            return $"a public key is {PublicKeySize} bytes, not {publicKey.Length}";
        switch (Edwards25519.Decode(publicKey, out var point))
        {
            case Edwards25519.Decoding.NonCanonicalY:
                return "the public key's y coordinate is not reduced mod p (non-canonical encoding)";
            case Edwards25519.Decoding.NonCanonicalSign:
                return "the public key encodes x = 0 with the sign bit set (non-canonical encoding)";
            case Edwards25519.Decoding.NotOnCurve:
                return "the public key is not a point on the curve";
        }

        if (Edwards25519.HasSmallOrder(point))
            return "the public key is a point of small order";
        return Edwards25519.IsInPrimeOrderSubgroup(point) ? null : "the public key has a small-order component (not in the prime-order subgroup)";
    }

    /// <summary>Why a signature's form is refused before any curve work, or null.</summary>
    public static string? CheckSignatureForm(ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureSize)
            return $"a signature is {SignatureSize} bytes, not {signature.Length}";
        if (!IsBelow(signature[32..], LittleEndianL))
            return "the signature's S is not below the group order L (non-canonical, malleable)";
        Span<byte> r = stackalloc byte[32];
        signature[..32].CopyTo(r);
        r[31] &= 0x7F;
        foreach (var bad in SmallOrderEncodings)
        {
            if (r.SequenceEqual(bad))
                return "the signature's R is a point of small order";
        }

        return null;
    }

    /// <summary>A key checked once and kept in NSec's form, for many verifications.</summary>
    public static bool TryImport(ReadOnlySpan<byte> publicKey, out VerifyingKey? key, out string? error)
    {
        key = null;
        error = CheckPublicKey(publicKey);
        if (error is not null)
            return false;
        if (!PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var imported) || imported is null)
        {
            error = "the public key was refused by libsodium";
            return false;
        }

        key = new VerifyingKey(imported, publicKey.ToArray());
        return true;
    }

    public static bool Verify(VerifyingKey key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature, out string? error)
    {
        ArgumentNullException.ThrowIfNull(key);
        error = CheckSignatureForm(signature);
        if (error is not null)
            return false;
        if (Algorithm.Verify(key.Key, message, signature))
            return true;
        error = "the signature does not verify with the signer's key";
        return false;
    }

    /// <summary>Compares two little-endian 32-byte numbers.</summary>
    private static bool IsBelow(ReadOnlySpan<byte> value, ReadOnlySpan<byte> limit)
    {
        for (var i = 31; i >= 0; i--)
        {
            if (value[i] != limit[i])
                return value[i] < limit[i];
        }

        return false;
    }

    private static byte[] Encode(BigInteger value)
    {
        var bytes = new byte[32];
        value.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        return bytes;
    }
}

/// <summary>An Ed25519 public key that passed <see cref="StrictEd25519.CheckPublicKey"/>.</summary>
internal sealed class VerifyingKey(PublicKey key, byte[] raw)
{
    public PublicKey Key { get; } = key;

    public ReadOnlyMemory<byte> Raw { get; } = raw;

    public Wire.Id128 KeyId { get; } = HubKeys.KeyIdOf(raw);

    public Wire.Id128 HubId { get; } = HubKeys.HubIdOf(raw);
}
