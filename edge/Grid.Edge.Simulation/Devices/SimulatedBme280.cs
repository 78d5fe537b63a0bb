using System.Device.I2c;
using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Simulation.Devices;

/// <summary>
/// A BME280 as its register file behind the .NET IoT I2cDevice API, with the Bosch worked-example calibration.
/// <see cref="SetConditions"/> turns air conditions into the raw readings the chip would report, by searching the
/// compensation formulas backwards, so the driver under test does all its own arithmetic.
/// </summary>
public sealed class SimulatedBme280(int bus = 1, int address = 0x76) : I2cDevice
{
    private readonly byte[] _registers = Create();
    private readonly Lock _sync = new();

    public bool Absent { get; set; }

    public override I2cConnectionSettings ConnectionSettings { get; } = new(bus, address);

    /// <summary>Sets the next measurement to these conditions (degC, hPa, %RH), as closely as the 20/16-bit readings allow.</summary>
    public void SetConditions(double temperature, double pressure, double humidity)
    {
        var calibration = new Bme280Calibration();
        calibration.Load(_registers[0x88..0xA2], _registers[0xE1..0xE8], hasHumidity: true);
        // Temperature rises with adc_T; pressure falls with adc_P; humidity rises with adc_H.
        var adcT = Search(0, (1 << 20) - 1, t => Bme280Compensation.Temperature(t, calibration, out _) >= temperature * 100);
        Bme280Compensation.Temperature(adcT, calibration, out var tFine);
        var adcP = Search(0, (1 << 20) - 1, p => Bme280Compensation.Pressure(p, tFine, calibration) <= pressure * 25600);
        var adcH = Search(0, 0xFFFF, h => Bme280Compensation.Humidity(h, tFine, calibration) >= humidity * 1024);
        SetRaw(adcP, adcT, adcH);
    }

    public void SetRaw(int adcP, int adcT, int adcH)
    {
        lock (_sync)
            SetRawLocked(adcP, adcT, adcH);
    }

    private void SetRawLocked(int adcP, int adcT, int adcH)
    {
        _registers[0xF7] = (byte)(adcP >> 12);
        _registers[0xF8] = (byte)(adcP >> 4);
        _registers[0xF9] = (byte)((adcP & 0xF) << 4);
        _registers[0xFA] = (byte)(adcT >> 12);
        _registers[0xFB] = (byte)(adcT >> 4);
        _registers[0xFC] = (byte)((adcT & 0xF) << 4);
        _registers[0xFD] = (byte)(adcH >> 8);
        _registers[0xFE] = (byte)adcH;
    }

    public override byte ReadByte() => throw new NotSupportedException("the BME280 driver reads registers with WriteRead");

    public override void Read(Span<byte> buffer) => throw new NotSupportedException("the BME280 driver reads registers with WriteRead");

    public override void WriteByte(byte value) => throw new NotSupportedException();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Absent)
            throw new IOException("Error 121 performing I2C data transfer (no ACK)");
        lock (_sync)
            _registers[buffer[0]] = buffer[1];
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        if (Absent)
            throw new IOException("Error 121 performing I2C data transfer (no ACK)");
        lock (_sync)
        {
            for (var i = 0; i < readBuffer.Length; i++)
                readBuffer[i] = writeBuffer[0] + i == 0xF3 ? (byte)0 : _registers[(writeBuffer[0] + i) & 0xFF];
        }
    }

    /// <summary>The smallest value in [low, high] for which <paramref name="reached"/> holds (it must be monotonic).</summary>
    private static int Search(int low, int high, Func<int, bool> reached)
    {
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (reached(middle))
                high = middle;
            else
                low = middle + 1;
        }

        return low;
    }

    private static byte[] Create()
    {
        var registers = new byte[256];
        registers[0xD0] = 0x60;
        byte[] tp = [0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17];
        tp.CopyTo(registers, 0x88);
        registers[0xA1] = 0x4B;
        byte[] h = [0x6A, 0x01, 0x00, 0x14, 0x0D, 0x00, 0x1E];
        h.CopyTo(registers, 0xE1);
        // Data burst 0xF7..0xFE of reference 5.3.
        byte[] burst = [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6F, 0xF0];
        burst.CopyTo(registers, 0xF7);
        return registers;
    }
}
