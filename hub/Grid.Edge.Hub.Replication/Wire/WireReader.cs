using System.Buffers.Binary;
using System.Text;

namespace Grid.Edge.Hub.Replication.Wire;

/// <summary>
/// Reads what <see cref="WireWriter"/> writes, refusing instead of throwing: every read says whether the bytes were
/// there, and <see cref="Error"/> names the first field that was not, so outside input never raises an exception.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly int Remaining => _data.Length - Position;

    public string? Error { get; private set; }

    public bool Fail(string error)
    {
        Error ??= $"{error} (at byte {Position})";
        return false;
    }

    public bool Bytes(int count, string field, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (Error is not null)
            return false;
        if (count < 0 || count > Remaining)
            return Fail($"{field}: {count} bytes needed, {Remaining} left");
        bytes = _data.Slice(Position, count);
        Position += count;
        return true;
    }

    public bool U8(string field, out byte value)
    {
        value = 0;
        if (!Bytes(1, field, out var b))
            return false;
        value = b[0];
        return true;
    }

    public bool U16(string field, out ushort value)
    {
        value = 0;
        if (!Bytes(2, field, out var b))
            return false;
        value = BinaryPrimitives.ReadUInt16LittleEndian(b);
        return true;
    }

    public bool U32(string field, out uint value)
    {
        value = 0;
        if (!Bytes(4, field, out var b))
            return false;
        value = BinaryPrimitives.ReadUInt32LittleEndian(b);
        return true;
    }

    public bool U64(string field, out ulong value)
    {
        value = 0;
        if (!Bytes(8, field, out var b))
            return false;
        value = BinaryPrimitives.ReadUInt64LittleEndian(b);
        return true;
    }

    public bool I64(string field, out long value)
    {
        var ok = U64(field, out var raw);
        value = unchecked((long)raw);
        return ok;
    }

    /// <summary>LEB128; refuses overlong forms (a trailing zero group) so each value has one encoding.</summary>
    public bool Varint(string field, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!U8(field, out var b))
                return false;
            if (shift == 63 && b > 1)
                return Fail($"{field}: varint overflows 64 bits");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return b != 0 || shift == 0 || Fail($"{field}: varint has a redundant trailing group");
        }

        return Fail($"{field}: varint longer than 10 bytes");
    }

    public bool Id(string field, out Id128 id)
    {
        id = default;
        if (!Bytes(Id128.Size, field, out var b))
            return false;
        id = Id128.Read(b);
        return true;
    }

    public bool Hash(string field, out Hash256 hash)
    {
        hash = default;
        if (!Bytes(Hash256.Size, field, out var b))
            return false;
        hash = Hash256.Read(b);
        return true;
    }

    public bool ShortString(string field, int maxBytes, out string value)
    {
        value = "";
        if (!U8(field, out var length))
            return false;
        if (length > maxBytes)
            return Fail($"{field}: {length} bytes, at most {maxBytes} allowed");
        if (!Bytes(length, field, out var b))
            return false;
        try
        {
            value = StrictUtf8.GetString(b);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return Fail($"{field}: not UTF-8");
        }
    }

    public bool End(string what) => Error is null && (Remaining == 0 || Fail($"{Remaining} bytes follow the {what}"));
}
