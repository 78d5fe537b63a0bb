using System.Device.Spi;

namespace Grid.Edge.Devices.WindVane;

/// <summary>Microchip MCP3008, 8-channel 10-bit ADC on SPI (mode 0, up to 1.35 MHz at 3.3 V), single-ended reads.</summary>
public sealed class Mcp3008(SpiDevice device) : IDisposable
{
    private readonly byte[] _request = new byte[3];
    private readonly byte[] _reply = new byte[3];

    public SpiDevice Device => device;

    /// <summary>Reads a channel 0-7: 0 .. 1023 of the reference voltage.</summary>
    public int Read(int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 7);
        // Start bit, then single-ended (1) and the channel in the high nibble, then 8 clocks for the low bits.
        _request[0] = 0x01;
        _request[1] = (byte)((0x08 | channel) << 4);
        _request[2] = 0x00;
        device.TransferFullDuplex(_request, _reply);
        return ((_reply[1] & 0x03) << 8) | _reply[2];
    }

    public void Dispose() => device.Dispose();
}
