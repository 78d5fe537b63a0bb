using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>
/// Persistent memory as a byte array, with an optional power cut: after <see cref="WritesUntilCut"/> writes the
/// next write lands only partly (<see cref="BytesOfCutWrite"/> bytes) and every later write is lost, as when the
/// supply dies mid-write. A new station over the same <see cref="Bytes"/> is the next power-on.
/// </summary>
internal sealed class MemoryBlock(byte[] bytes) : IPersistentMemory
{
    public MemoryBlock(int size)
        : this(new byte[size])
    {
    }

    public byte[] Bytes { get; } = bytes;

    public int Size => Bytes.Length;

    public int WritesUntilCut { get; set; } = int.MaxValue;

    public int BytesOfCutWrite { get; set; }

    public bool PowerIsOff { get; private set; }

    public int Writes { get; private set; }

    public bool Read(int address, byte[] buffer, int offset, int count)
    {
        if (address < 0 || address + count > Bytes.Length)
            return false;
        Array.Copy(Bytes, address, buffer, offset, count);
        return true;
    }

    public bool Write(int address, byte[] buffer, int offset, int count)
    {
        if (address < 0 || address + count > Bytes.Length)
            return false;
        if (PowerIsOff)
            return false;
        if (Writes == WritesUntilCut)
        {
            Array.Copy(buffer, offset, Bytes, address, Math.Min(BytesOfCutWrite, count));
            PowerIsOff = true;
            return false;
        }

        Writes++;
        Array.Copy(buffer, offset, Bytes, address, count);
        return true;
    }
}
