using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Grid.Edge.Hub.Replication.Wire;

/// <summary>A SHA-256 digest held by value (the id of a delta or a control record, a body hash), ordered by its bytes.</summary>
internal readonly record struct Hash256(UInt128 High, UInt128 Low) : IComparable<Hash256>
{
    public const int Size = 32;

    public static readonly Hash256 Zero;

    public static Hash256 Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt128BigEndian(bytes), BinaryPrimitives.ReadUInt128BigEndian(bytes[16..]));

    public static Hash256 Of(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[Size];
        SHA256.HashData(data, digest);
        return Read(digest);
    }

    public bool IsZero => High == 0 && Low == 0;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt128BigEndian(destination, High);
        BinaryPrimitives.WriteUInt128BigEndian(destination[16..], Low);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    public int CompareTo(Hash256 other)
    {
        var high = High.CompareTo(other.High);
        return high != 0 ? high : Low.CompareTo(other.Low);
    }

    public override string ToString() => Convert.ToHexStringLower(ToBytes());
}
