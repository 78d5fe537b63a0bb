using Grid.Edge.Hub.Replication.Wire;
using NSec.Cryptography;

namespace Grid.Edge.Hub.Replication.Identity;

/// <summary>
/// A hub's long-term Ed25519 key pair. The hub id is a hash of the public key, so anyone holding a delta and the
/// key can check who made it without asking anybody; the key id (another hash, in its own domain) names the key
/// inside signed headers, so a later key epoch can sign under the same hub id.
/// </summary>
internal sealed class HubKeys : IDisposable
{
    private readonly Key _key;

    private HubKeys(Key key)
    {
        _key = key;
        var raw = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        if (!StrictEd25519.TryImport(raw, out var verifying, out var error))
            throw new InvalidOperationException($"a freshly made key was refused: {error}");
        Verifying = verifying!;
    }

    public VerifyingKey Verifying { get; }

    public ReadOnlyMemory<byte> PublicKey => Verifying.Raw;

    public Id128 HubId => Verifying.HubId;

    public Id128 KeyId => Verifying.KeyId;

    public static Id128 HubIdOf(ReadOnlySpan<byte> publicKey) => Id128.Hash("grid-edge/hub-id/v1\0", publicKey);

    public static Id128 KeyIdOf(ReadOnlySpan<byte> publicKey) => Id128.Hash("grid-edge/key-id/v1\0", publicKey);

    public static HubKeys Create() =>
        new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>From the 32-byte private seed (RFC 8032's "secret key").</summary>
    public static HubKeys FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32)
            throw new ArgumentException($"an Ed25519 seed is 32 bytes, not {seed.Length}", nameof(seed));
        return new HubKeys(Key.Import(
            SignatureAlgorithm.Ed25519,
            seed,
            KeyBlobFormat.RawPrivateKey,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
    }

    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>
    /// The hub's CURVE (X25519) key pair for the grid's encrypted links, derived from the seed in its own domain:
    /// one secret to keep, and the certificate that names the hub also names the key peers must connect to.
    /// </summary>
    public (byte[] Secret, byte[] Public) CurveKeyPair()
    {
        var secret = System.Security.Cryptography.HKDF.DeriveKey(System.Security.Cryptography.HashAlgorithmName.SHA256, ExportSeed(), 32, info: "grid-edge/curve/v1"u8.ToArray());
        using var key = Key.Import(KeyAgreementAlgorithm.X25519, secret, KeyBlobFormat.RawPrivateKey);
        return (secret, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}
