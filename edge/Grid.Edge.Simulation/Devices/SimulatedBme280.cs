using System.Device.I2c;

namespace Grid.Edge.Simulation.Devices;

/// <summary>A BME280's register file (<see cref="Bme280Registers"/>) behind the .NET IoT I2cDevice API.</summary>
public sealed class SimulatedBme280(int bus = 1, int address = 0x76) : I2cDevice
{
    /// <summary>The chip; conversions finish at once unless <see cref="Bme280Registers.ConversionPolls"/> says otherwise.</summary>
    public Bme280Registers Registers { get; } = new() { ConversionPolls = 0 };

    /// <summary>No device answers (a loose wire): every transfer fails as .NET IoT reports a missing ACK.</summary>
    public bool Absent { get; set; }

    public override I2cConnectionSettings ConnectionSettings { get; } = new(bus, address);

    /// <summary>Sets the next measurement to these conditions (degC, hPa, %RH).</summary>
    public void SetConditions(double temperature, double pressure, double humidity) => Registers.SetConditions(temperature, pressure, humidity);

    public void SetRaw(int adcP, int adcT, int adcH) => Registers.SetRaw(adcP, adcT, adcH);

    public override byte ReadByte() => throw new NotSupportedException("the BME280 driver reads registers with WriteRead");

    public override void Read(Span<byte> buffer) => throw new NotSupportedException("the BME280 driver reads registers with WriteRead");

    public override void WriteByte(byte value) => throw new NotSupportedException();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfAbsent();
        Registers.Write(buffer[0], buffer[1]);
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        ThrowIfAbsent();
        Registers.Read(writeBuffer[0], readBuffer);
    }

    private void ThrowIfAbsent()
    {
        if (Absent)
            throw new IOException("Error 121 performing I2C data transfer (no ACK)");
    }
}
