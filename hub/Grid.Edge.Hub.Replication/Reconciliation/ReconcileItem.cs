using System.Buffers.Binary;
using System.Security.Cryptography;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Reconciliation;

/// <summary>
/// One element of a reconciled set: a delta's clock (so recent differences cluster at the end of the order) and its
/// id. Ordered by timestamp, then id bytes. <see cref="ulong.MaxValue"/> is reserved for the open upper bound.
/// </summary>
internal readonly record struct ReconcileItem(ulong Timestamp, Hash256 Id) : IComparable<ReconcileItem>
{
    public int CompareTo(ReconcileItem other)
    {
        var c = Timestamp.CompareTo(other.Timestamp);
        return c != 0 ? c : Id.CompareTo(other.Id);
    }
}

/// <summary>
/// The fingerprint of a range (Negentropy's): the ids added as 256-bit little-endian numbers mod 2^256, and the
/// count, hashed with SHA-256 and cut to 16 bytes. The sum can be kept incrementally (add, and even subtract, an
/// item); the hash over it and the count is what makes it cryptographic: unlike an XOR of ids, no set of ids a
/// peer can make (ids are SHA-256 of signed headers) lets a different set produce the same fingerprint short of
/// breaking SHA-256 or solving a modular subset-sum over 2^256, and equal sets of different sizes never collide.
/// </summary>
internal struct FingerprintSum
{
    public const int Size = 16;

    private ulong _a, _b, _c, _d;
    private ulong _count;

    public void Add(Hash256 id)
    {
        Span<byte> bytes = stackalloc byte[32];
        id.Write(bytes);
        var a = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var b = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        var c = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        var d = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
        ulong carry;
        (_a, carry) = AddWithCarry(_a, a, 0);
        (_b, carry) = AddWithCarry(_b, b, carry);
        (_c, carry) = AddWithCarry(_c, c, carry);
        (_d, _) = AddWithCarry(_d, d, carry);
        _count++;
    }

    public readonly UInt128 Finish()
    {
        Span<byte> input = stackalloc byte[32 + 10];
        BinaryPrimitives.WriteUInt64LittleEndian(input, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(input[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(input[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(input[24..], _d);
        var length = 32;
        var count = _count;
        while (count >= 0x80)
        {
            input[length++] = (byte)(count | 0x80);
            count >>= 7;
        }

        input[length++] = (byte)count;
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input[..length], digest);
        return BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    private static (ulong Sum, ulong Carry) AddWithCarry(ulong x, ulong y, ulong carry)
    {
        var sum = x + y;
        var carryOut = sum < x ? 1UL : 0UL;
        var total = sum + carry;
        return (total, carryOut | (total < sum ? 1UL : 0UL));
    }
}
