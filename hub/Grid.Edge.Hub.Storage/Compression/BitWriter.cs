namespace Grid.Edge.Hub.Storage.Compression;

/// <summary>Appends bits most-significant first into a growing byte buffer.</summary>
internal sealed class BitWriter
{
    private byte[] _buffer;
    private long _bitLength;

    public BitWriter(int capacityBytes = 256) => _buffer = new byte[Math.Max(16, capacityBytes)];

    public long BitLength => _bitLength;

    public void WriteBit(bool bit)
    {
        Ensure(1);
        if (bit)
            _buffer[_bitLength >> 3] |= (byte)(0x80 >> (int)(_bitLength & 7));
        _bitLength++;
    }

    /// <summary>Writes the low <paramref name="count"/> bits of <paramref name="value"/> (0 to 64).</summary>
    public void WriteBits(ulong value, int count)
    {
        if (count == 0)
            return;
        Ensure(count);
        while (count > 0)
        {
            var free = 8 - (int)(_bitLength & 7);
            var take = Math.Min(free, count);
            var bits = (byte)((value >> (count - take)) & ((1UL << take) - 1));
            _buffer[_bitLength >> 3] |= (byte)(bits << (free - take));
            _bitLength += take;
            count -= take;
        }
    }

    /// <summary>Unsigned LEB128, byte aligned.</summary>
    public void WriteVarint(ulong value)
    {
        AlignToByte();
        while (value >= 0x80)
        {
            WriteBits((value & 0x7F) | 0x80, 8);
            value >>= 7;
        }

        WriteBits(value, 8);
    }

    public void AlignToByte() => _bitLength = (_bitLength + 7) & ~7L;

    public byte[] ToArray()
    {
        var length = (int)((_bitLength + 7) >> 3);
        return _buffer.AsSpan(0, length).ToArray();
    }

    private void Ensure(int bits)
    {
        var needed = (int)((_bitLength + bits + 7) >> 3);
        if (needed > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
    }

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
}

/// <summary>Reads what <see cref="BitWriter"/> wrote; running past the end is a corrupt chunk.</summary>
internal ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private long _bit;

    public BitReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _bit = 0;
    }

    public bool ReadBit()
    {
        if (_bit >= (long)_data.Length * 8)
            throw new InvalidDataException("chunk ends early");
        var bit = (_data[(int)(_bit >> 3)] & (0x80 >> (int)(_bit & 7))) != 0;
        _bit++;
        return bit;
    }

    public ulong ReadBits(int count)
    {
        if (_bit + count > (long)_data.Length * 8)
            throw new InvalidDataException("chunk ends early");
        ulong value = 0;
        while (count > 0)
        {
            var offset = (int)(_bit & 7);
            var available = 8 - offset;
            var take = Math.Min(available, count);
            var bits = (_data[(int)(_bit >> 3)] >> (available - take)) & ((1 << take) - 1);
            value = (value << take) | (uint)bits;
            _bit += take;
            count -= take;
        }

        return value;
    }

    public void AlignToByte() => _bit = (_bit + 7) & ~7L;

    public ulong ReadVarint()
    {
        AlignToByte();
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadBits(8);
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }

        throw new InvalidDataException("varint too long");
    }

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
