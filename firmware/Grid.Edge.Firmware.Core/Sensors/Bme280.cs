using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>
/// Bosch BME280 (or BMP280, detected by chip id) in forced mode: one conversion per sample, then the chip
/// sleeps at 0.1 uA. Oversampling x1 and no IIR filter, the data sheet's weather-monitoring setting.
/// All buffers are allocated once; a sample allocates nothing.
/// </summary>
public sealed class Bme280
{
    public const byte PrimaryAddress = 0x76;
    public const byte SecondaryAddress = 0x77;
    public const byte Bme280ChipId = 0x60;
    public const byte Bmp280ChipId = 0x58;

    private const byte RegisterCalibration00 = 0x88;
    private const byte RegisterChipId = 0xD0;
    private const byte RegisterCalibration26 = 0xE1;
    private const byte RegisterControlHumidity = 0xF2;
    private const byte RegisterStatus = 0xF3;
    private const byte RegisterControlMeasurement = 0xF4;
    private const byte RegisterConfig = 0xF5;
    private const byte RegisterData = 0xF7;
    private const byte StatusMeasuring = 0x08;
    private const byte StatusNvmCopying = 0x01;

    // osrs_t x1, osrs_p x1, forced mode.
    private const byte ForcedMeasurement = 0x25;

    // Maximum conversion time with everything at x1 is 9.3 ms; poll a few times past it before giving up.
    private const int ConversionWaitMilliseconds = 10;
    private const int ConversionPolls = 5;

    private readonly IRegisterBus _bus;
    private readonly IPower _power;
    private readonly Bme280Calibration _calibration = new Bme280Calibration();
    private readonly byte[] _register = new byte[1];
    private readonly byte[] _one = new byte[1];
    private readonly byte[] _write = new byte[2];
    private readonly byte[] _block88 = new byte[26];
    private readonly byte[] _blockE1 = new byte[7];
    private readonly byte[] _data = new byte[8];
    private bool _initialized;

    public Bme280(IRegisterBus bus, IPower power)
    {
        _bus = bus;
        _power = power;
    }

    /// <summary>True for a BME280, false for a BMP280 (no humidity sensor).</summary>
    public bool HasHumidity { get; private set; }

    public byte ChipId { get; private set; }

    public Bme280Calibration Calibration => _calibration;

    /// <summary>Identifies the chip, reads its calibration and configures forced mode. Safe to call again after errors.</summary>
    public Bme280Status Initialize()
    {
        _initialized = false;
        if (!ReadRegisters(RegisterChipId, _one))
            return Bme280Status.BusError;
        ChipId = _one[0];
        if (ChipId == Bme280ChipId)
            HasHumidity = true;
        else if (ChipId == Bmp280ChipId || ChipId == 0x56 || ChipId == 0x57)
            HasHumidity = false;
        else
            return Bme280Status.UnknownChip;

        // After power-on the chip copies its NVM for about 2 ms; the calibration is garbage until it is done.
        for (var attempt = 0; ; attempt++)
        {
            if (!ReadRegisters(RegisterStatus, _one))
                return Bme280Status.BusError;
            if ((_one[0] & StatusNvmCopying) == 0)
                break;
            if (attempt >= ConversionPolls)
                return Bme280Status.Timeout;
            _power.Pause(2);
        }

        if (!ReadRegisters(RegisterCalibration00, _block88))
            return Bme280Status.BusError;
        if (HasHumidity && !ReadRegisters(RegisterCalibration26, _blockE1))
            return Bme280Status.BusError;
        if (!_calibration.Load(_block88, _blockE1, HasHumidity))
            return Bme280Status.BadCalibration;

        if (!WriteRegister(RegisterConfig, 0x00))
            return Bme280Status.BusError;
        if (HasHumidity && !WriteRegister(RegisterControlHumidity, 0x01))
            return Bme280Status.BusError;
        _initialized = true;
        return Bme280Status.Ok;
    }

    /// <summary>
    /// Runs one forced conversion and compensates it. Humidity is NaN on a BMP280.
    /// Temperature in degC (0.01 steps), pressure in hPa (0.01 steps are 1 Pa), humidity in %RH.
    /// </summary>
    public Bme280Status Read(out double temperature, out double pressure, out double humidity)
    {
        temperature = double.NaN;
        pressure = double.NaN;
        humidity = double.NaN;
        if (!_initialized)
            return Bme280Status.NotInitialized;

        // ctrl_hum only takes effect after a write to ctrl_meas, which this is.
        if (!WriteRegister(RegisterControlMeasurement, ForcedMeasurement))
            return Bme280Status.BusError;
        for (var poll = 0; ; poll++)
        {
            _power.Pause(ConversionWaitMilliseconds);
            if (!ReadRegisters(RegisterStatus, _one))
                return Bme280Status.BusError;
            if ((_one[0] & StatusMeasuring) == 0)
                break;
            if (poll >= ConversionPolls)
                return Bme280Status.Timeout;
        }

        // One burst so pressure, temperature and humidity come from the same conversion (the chip shadows them).
        if (!ReadRegisters(RegisterData, _data))
            return Bme280Status.BusError;
        return Compensate(_data, HasHumidity, _calibration, out temperature, out pressure, out humidity);
    }

    /// <summary>Turns the 8-byte burst from 0xF7 into values; public so the edge agent and tests share the exact arithmetic.</summary>
    public static Bme280Status Compensate(byte[] burst, bool hasHumidity, Bme280Calibration calibration, out double temperature, out double pressure, out double humidity)
    {
        temperature = double.NaN;
        pressure = double.NaN;
        humidity = double.NaN;
        var adcP = (burst[0] << 12) | (burst[1] << 4) | (burst[2] >> 4);
        var adcT = (burst[3] << 12) | (burst[4] << 4) | (burst[5] >> 4);
        var adcH = (burst[6] << 8) | burst[7];
        if (adcT == Bme280Compensation.SkippedTemperatureOrPressure)
            return Bme280Status.NoValue;

        var centiDegrees = Bme280Compensation.Temperature(adcT, calibration, out var tFine);
        temperature = centiDegrees / 100.0;
        if (adcP != Bme280Compensation.SkippedTemperatureOrPressure)
        {
            var q248 = Bme280Compensation.Pressure(adcP, tFine, calibration);
            if (q248 > 0)
                pressure = q248 / 25600.0;
        }

        if (hasHumidity && adcH != Bme280Compensation.SkippedHumidity)
            humidity = Bme280Compensation.Humidity(adcH, tFine, calibration) / 1024.0;
        return Bme280Status.Ok;
    }

    private bool ReadRegisters(byte register, byte[] into)
    {
        _register[0] = register;
        return _bus.WriteRead(_register, into);
    }

    private bool WriteRegister(byte register, byte value)
    {
        _write[0] = register;
        _write[1] = value;
        return _bus.Write(_write);
    }
}
