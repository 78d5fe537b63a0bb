using System.Buffers.Binary;
using System.Security.Cryptography;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Discovery;

/// <summary>
/// What a hub broadcasts on its LAN so that members find it: its hub id and grid port, sealed with AES-GCM under a
/// key only members can derive (from the grid id and the founder's public key, both in the control log). To anyone
/// else a beacon is 50 random-looking bytes: it tells no grid, no hub and no port. <c>GEB1</c>, a 12-byte nonce, the
/// sealed hub id (16) and port (2), the 16-byte tag. A replayed or forged beacon can at most make a member dial an
/// address with the CURVE key the named member's certificate pins, which only that member can answer.
/// </summary>
internal static class BeaconMessage
{
    public const int Size = 4 + NonceSize + PlainSize + TagSize;
    private const int NonceSize = 12;
    private const int PlainSize = 16 + 2;
    private const int TagSize = 16;

    private static ReadOnlySpan<byte> Magic => "GEB1"u8;

    /// <summary>The members' beacon key of a grid.</summary>
    public static byte[] Key(Id128 grid, ReadOnlySpan<byte> founderPublicKey)
    {
        byte[] material = [.. grid.ToBytes(), .. founderPublicKey];
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: [], info: "grid-edge/discovery/v1"u8.ToArray());
    }

    public static byte[] Seal(byte[] key, Id128 hub, int port)
    {
        var message = new byte[Size];
        Magic.CopyTo(message);
        var nonce = message.AsSpan(4, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> plain = stackalloc byte[PlainSize];
        hub.ToBytes().CopyTo(plain);
        BinaryPrimitives.WriteUInt16BigEndian(plain[16..], (ushort)port);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, message.AsSpan(4 + NonceSize, PlainSize), message.AsSpan(4 + NonceSize + PlainSize, TagSize), Magic);
        return message;
    }

    /// <summary>The hub and port a member's beacon names; null for anything else (another grid's, noise, a forgery).</summary>
    public static (Id128 Hub, int Port)? TryOpen(byte[] key, ReadOnlySpan<byte> message)
    {
        if (message.Length != Size || !message[..4].SequenceEqual(Magic))
            return null;
        Span<byte> plain = stackalloc byte[PlainSize];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(message.Slice(4, NonceSize), message.Slice(4 + NonceSize, PlainSize), message.Slice(4 + NonceSize + PlainSize, TagSize), plain, Magic);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(plain[16..]);
        return port == 0 ? null : (Id128.Read(plain[..16]), port);
    }
}
