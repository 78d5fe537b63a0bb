using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Grid.Edge.Hub.Replication.Wire;

/// <summary>A 16-byte identifier (hub, grid, stream, key): a truncated SHA-256 of what it names, big-endian.</summary>
internal readonly record struct Id128(UInt128 Value) : IComparable<Id128>
{
    public const int Size = 16;

    public static Id128 Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt128BigEndian(bytes));

    /// <summary>The first 16 bytes of SHA-256(domain || data): domains keep ids of different things apart.</summary>
    public static Id128 Hash(string domain, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(domain);
        // One-shot hashing of a joined buffer: an incremental hash object costs more than the hashing itself here.
        var length = domain.Length + data.Length;
        var buffer = length <= 512 ? stackalloc byte[length] : new byte[length];
        System.Text.Encoding.ASCII.GetBytes(domain, buffer);
        data.CopyTo(buffer[domain.Length..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buffer, digest);
        return Read(digest);
    }

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Value);

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    public int CompareTo(Id128 other) => Value.CompareTo(other.Value);

    public override string ToString() => Base32.Encode(ToBytes());

    public static bool TryParse(string text, out Id128 id)
    {
        id = default;
        if (text is null || text.Length != 26 || !Base32.TryDecode(text, out var bytes))
            return false;
        id = Read(bytes);
        return true;
    }
}
