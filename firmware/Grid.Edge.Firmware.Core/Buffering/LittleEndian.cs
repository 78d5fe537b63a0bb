namespace Grid.Edge.Firmware.Core.Buffering;

/// <summary>Fixed little-endian packing without BitConverter (whose surface differs between runtimes).</summary>
internal static class LittleEndian
{
    public static void WriteUInt16(byte[] buffer, int at, int value)
    {
        buffer[at] = (byte)value;
        buffer[at + 1] = (byte)(value >> 8);
    }

    public static int ReadUInt16(byte[] buffer, int at) => buffer[at] | (buffer[at + 1] << 8);

    public static void WriteUInt32(byte[] buffer, int at, uint value)
    {
        buffer[at] = (byte)value;
        buffer[at + 1] = (byte)(value >> 8);
        buffer[at + 2] = (byte)(value >> 16);
        buffer[at + 3] = (byte)(value >> 24);
    }

    public static uint ReadUInt32(byte[] buffer, int at) =>
        (uint)(buffer[at] | (buffer[at + 1] << 8) | (buffer[at + 2] << 16) | (buffer[at + 3] << 24));

    public static void WriteInt64(byte[] buffer, int at, long value)
    {
        WriteUInt32(buffer, at, (uint)value);
        WriteUInt32(buffer, at + 4, (uint)(value >> 32));
    }

    public static long ReadInt64(byte[] buffer, int at) => (long)ReadUInt32(buffer, at) | ((long)ReadUInt32(buffer, at + 4) << 32);

    /// <summary>Stores the IEEE 754 bits of a double, so values come back bit for bit.</summary>
    public static void WriteDouble(byte[] buffer, int at, double value) => WriteInt64(buffer, at, System.BitConverter.DoubleToInt64Bits(value));

    public static double ReadDouble(byte[] buffer, int at) => System.BitConverter.Int64BitsToDouble(ReadInt64(buffer, at));
}
