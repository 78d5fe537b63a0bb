using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Simulation.Devices;

/// <summary>
/// A BME280 (or BMP280) as its register file, with the Bosch worked-example calibration (reference bme280.md 5.1,
/// 5.2) and the data burst of 5.3: chip id, ctrl writes, forced conversions that take a number of status polls, and
/// faults (blank calibration, poked registers). <see cref="SetConditions"/> turns air conditions into the raw readings
/// the chip would report, by searching the compensation formulas backwards, so a driver under test does all its own
/// arithmetic. The buses in front of it: <see cref="SimulatedBme280"/> (.NET IoT) and <see cref="SimulatedBme280Bus"/>
/// (the firmware's).
/// </summary>
public sealed class Bme280Registers
{
    private const byte Status = 0xF3;
    private const byte ControlMeasure = 0xF4;
    private readonly byte[] _registers = new byte[256];
    private readonly Lock _sync = new();
    private int _pollsUntilDone;

    public Bme280Registers(byte chipId = 0x60)
    {
        ChipId = chipId;
        _registers[0xD0] = chipId;
        byte[] tp = [0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17];
        tp.CopyTo(_registers, 0x88);
        if (chipId == 0x60)
        {
            _registers[0xA1] = 0x4B;
            byte[] h = [0x6A, 0x01, 0x00, 0x14, 0x0D, 0x00, 0x1E];
            h.CopyTo(_registers, 0xE1);
        }

        SetRaw(415148, 519888, 28656);
    }

    public byte ChipId { get; }

    /// <summary>Status polls a forced conversion takes before the measuring bit clears.</summary>
    public int ConversionPolls { get; set; } = 1;

    /// <summary>Forced conversions started so far.</summary>
    public int Conversions { get; private set; }

    public byte ControlHumidity => this[0xF2];

    public byte Config => this[0xF5];

    public byte this[int register]
    {
        get
        {
            lock (_sync)
                return _registers[register & 0xFF];
        }
    }

    /// <summary>Sets the next measurement to these conditions (degC, hPa, %RH), as closely as the 20/16-bit readings allow.</summary>
    public void SetConditions(double temperature, double pressure, double humidity)
    {
        var calibration = new Bme280Calibration();
        lock (_sync)
            calibration.Load(_registers[0x88..0xA2], _registers[0xE1..0xE8], hasHumidity: ChipId == 0x60);

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
    }

    /// <summary>Fills the temperature and pressure calibration with one value (a chip whose NVM reads blank).</summary>
    public void Blank(byte value)
    {
        lock (_sync)
            Array.Fill(_registers, value, 0x88, 0xA1 - 0x88 + 1);
    }

    public void Poke(int register, byte value)
    {
        lock (_sync)
            _registers[register & 0xFF] = value;
    }

    /// <summary>A burst read from <paramref name="register"/>; the status register says "measuring" while a conversion runs.</summary>
    public void Read(byte register, Span<byte> destination)
    {
        lock (_sync)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                var address = (register + i) & 0xFF;
                if (address == Status)
                {
                    destination[i] = (byte)(_pollsUntilDone > 0 ? 0x08 : 0x00);
                    if (_pollsUntilDone > 0)
                        _pollsUntilDone--;
                }
                else
                {
                    destination[i] = _registers[address];
                }
            }
        }
    }

    /// <summary>A register write; forced mode in ctrl_meas starts a conversion.</summary>
    public void Write(byte register, byte value)
    {
        lock (_sync)
        {
            _registers[register] = value;
            if (register == ControlMeasure && (value & 0x03) is 0x01 or 0x02)
            {
                Conversions++;
                _pollsUntilDone = ConversionPolls;
            }
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
}
