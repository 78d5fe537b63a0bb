using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Grid.Edge.Hub.Replication.Wire;

/// <summary>Builds a canonical binary record: fixed-width little-endian integers, length-prefixed UTF-8 and LEB128 varints.</summary>
internal sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    public void U8(byte value) => _buffer.Write([value]);

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void I64(long value) => U64(unchecked((ulong)value));

    public void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            U8((byte)(value | 0x80));
            value >>= 7;
        }

        U8((byte)value);
    }

    public void Id(Id128 id)
    {
        id.Write(_buffer.GetSpan(Id128.Size));
        _buffer.Advance(Id128.Size);
    }

    public void Hash(Hash256 hash)
    {
        hash.Write(_buffer.GetSpan(Hash256.Size));
        _buffer.Advance(Hash256.Size);
    }

    /// <summary>A short string: one length byte, then UTF-8 (the caller has checked it fits).</summary>
    public void ShortString(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > byte.MaxValue)
            throw new ArgumentException($"'{value}' is longer than 255 bytes", nameof(value));
        U8((byte)bytes.Length);
        Bytes(bytes);
    }
}
