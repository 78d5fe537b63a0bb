using System.Device.Spi;

using Grid.Edge.Devices.WindVane;

namespace Grid.Edge.Simulation.Devices;

/// <summary>An MCP3008 on the SPI bus: answers the 3-byte single-ended conversion with the channel's 10-bit value.</summary>
public sealed class SimulatedMcp3008 : SpiDevice
{
    public int[] Channels { get; } = new int[8];

    public List<byte[]> Requests { get; } = [];

    /// <summary>Sets a channel to what a resistor-ladder vane pointing nearest to <paramref name="degrees"/> gives.</summary>
    public void PointVane(int channel, double degrees, double pullUpOhms = 10_000)
    {
        var (_, ohms) = WindVaneSensor.Ladder.MinBy(p => Math.Abs(((p.Degrees - degrees + 540) % 360) - 180));
        Channels[channel] = (int)Math.Round(1023 * ohms / (ohms + pullUpOhms));
    }

    public override SpiConnectionSettings ConnectionSettings { get; } = new(0, 0);

    public override byte ReadByte() => throw new NotSupportedException();

    public override void Read(Span<byte> buffer) => throw new NotSupportedException();

    public override void WriteByte(byte value) => throw new NotSupportedException();

    public override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException();

    public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        lock (Requests)
        {
            if (Requests.Count < 1000)
                Requests.Add(writeBuffer.ToArray());
        }

        if (writeBuffer.Length != 3 || writeBuffer[0] != 0x01 || (writeBuffer[1] & 0x80) == 0)
            throw new InvalidOperationException("not a single-ended MCP3008 conversion request");
        var value = Channels[(writeBuffer[1] >> 4) & 0x07];
        readBuffer[0] = 0xFF; // undefined while the command is clocked in
        readBuffer[1] = (byte)(value >> 8 & 0x03);
        readBuffer[2] = (byte)value;
    }
}
