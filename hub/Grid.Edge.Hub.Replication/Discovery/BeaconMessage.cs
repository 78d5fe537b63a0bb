using System.Buffers.Binary;
using System.Security.Cryptography;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Discovery;

/// <summary>
/// What a hub broadcasts on its LAN so that members find it: its hub id, grid port and a send time, signed with its
/// own key and sealed with AES-GCM under a key members derive from the grid id and the founder's public key. To
/// anyone else a beacon is random bytes, fresh every time: no grid, hub or port can be read or followed. The
/// signature keeps a removed member (who still knows the sealing key) from speaking for another hub; the send time
/// lets a receiver refuse a replay of an older beacon from another address. <c>GEB1</c>, a 12-byte nonce, the sealed
/// hub id (16), port (2), time (8, Unix ms) and Ed25519 signature (64), and the 16-byte tag.
/// </summary>
internal static class BeaconMessage
{
    public const int Size = 4 + NonceSize + PlainSize + TagSize;
    private const int NonceSize = 12;
    private const int PlainSize = 16 + 2 + 8 + 64;
    private const int TagSize = 16;

    private static ReadOnlySpan<byte> Magic => "GEB1"u8;

    private static ReadOnlySpan<byte> SignatureDomain => "grid-edge/beacon/v1\0"u8;

    /// <summary>The members' sealing key of a grid.</summary>
    public static byte[] Key(Id128 grid, ReadOnlySpan<byte> founderPublicKey)
    {
        byte[] material = [.. grid.ToBytes(), .. founderPublicKey];
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: [], info: "grid-edge/discovery/v1"u8.ToArray());
    }

    public static byte[] Seal(byte[] key, Id128 grid, HubKeys hub, int port, long timeMs)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var plain = new byte[PlainSize];
        hub.HubId.ToBytes().CopyTo(plain, 0);
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(16), (ushort)port);
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(18), timeMs);
        hub.Sign(Signed(grid, plain.AsSpan(0, 26))).CopyTo(plain, 26);

        var message = new byte[Size];
        Magic.CopyTo(message);
        var nonce = message.AsSpan(4, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, message.AsSpan(4 + NonceSize, PlainSize), message.AsSpan(4 + NonceSize + PlainSize, TagSize), Magic);
        return message;
    }

    /// <summary>
    /// The hub, port and send time a member's beacon names; null for anything else: another grid's, noise, a
    /// forgery, or a beacon not signed by the member it names (<paramref name="memberKey"/>: null for non-members).
    /// </summary>
    public static (Id128 Hub, int Port, long TimeMs)? TryOpen(byte[] key, Id128 grid, ReadOnlySpan<byte> message, Func<Id128, VerifyingKey?> memberKey)
    {
        ArgumentNullException.ThrowIfNull(memberKey);
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

        var hub = Id128.Read(plain[..16]);
        var port = BinaryPrimitives.ReadUInt16BigEndian(plain[16..]);
        if (port == 0 || memberKey(hub) is not { } verifying
            || !StrictEd25519.Verify(verifying, Signed(grid, plain[..26]), plain[26..], out _))
            return null;
        return (hub, port, BinaryPrimitives.ReadInt64BigEndian(plain[18..]));
    }

    private static byte[] Signed(Id128 grid, ReadOnlySpan<byte> fields) => [.. SignatureDomain, .. grid.ToBytes(), .. fields];
}
