using System.Device.I2c;
using System.Globalization;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Devices.Bme280;

/// <summary>
/// A Bosch BME280 (or BMP280, found by its chip id) on I2C, in forced mode: one conversion per read. The driver
/// and its integer compensation are the firmware core's, so a Pi and an ESP32 report the same numbers.
/// </summary>
public sealed class Bme280Sensor : ISensor
{
    private readonly I2cDevice _device;
    private readonly Firmware.Core.Sensors.Bme280 _driver;
    private bool _ready;

    public Bme280Sensor(I2cDevice device)
    {
        _device = device;
        _driver = new Firmware.Core.Sensors.Bme280(new I2cRegisterBus(device), new ThreadPower());
        Description = string.Create(CultureInfo.InvariantCulture, $"BME280 on I2C bus {device.ConnectionSettings.BusId} at 0x{device.ConnectionSettings.DeviceAddress:X2}");
    }

    /// <summary>Opens /dev/i2c-&lt;bus&gt;; address 0x76 (SDO to GND) or 0x77.</summary>
    public static Bme280Sensor Open(int bus, int address)
    {
        try
        {
            return new Bme280Sensor(I2cDevice.Create(new I2cConnectionSettings(bus, address)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            throw new SensorException($"cannot open I2C bus {bus} (/dev/i2c-{bus}): {e.Message}; enable I2C (raspi-config) and add the user to the 'i2c' group");
        }
    }

    public string Description { get; }

    /// <summary>True for a BME280, false for a BMP280 (no humidity).</summary>
    public bool HasHumidity => _driver.HasHumidity;

    public IReadOnlyList<SensorReading> Read()
    {
        if (!_ready)
        {
            var status = _driver.Initialize();
            if (status != Bme280Status.Ok)
                throw new SensorException($"{Description}: {Explain(status)}");
            _ready = true;
        }

        var read = _driver.Read(out var temperature, out var pressure, out var humidity);
        if (read != Bme280Status.Ok)
        {
            _ready = read is Bme280Status.Timeout or Bme280Status.NoValue;
            throw new SensorException($"{Description}: {Explain(read)}");
        }

        var readings = new List<SensorReading>(3) { new("temperature", temperature, "degC") };
        if (!double.IsNaN(pressure))
            readings.Add(new SensorReading("pressure", Math.Round(pressure, 2), "hPa"));
        if (!double.IsNaN(humidity))
            readings.Add(new SensorReading("humidity", Math.Round(humidity, 2), "%"));
        return readings;
    }

    public void Dispose() => _device.Dispose();

    private static string Explain(Bme280Status status) => status switch
    {
        Bme280Status.BusError => "no answer on the bus (check wiring, the address 0x76/0x77, and that SDA/SCL are not swapped)",
        Bme280Status.UnknownChip => "the chip at this address is not a BME280 or BMP280",
        Bme280Status.BadCalibration => "the calibration data is blank (a damaged sensor or a bus fault)",
        Bme280Status.Timeout => "the conversion did not finish in time",
        Bme280Status.NoValue => "the sensor returned no measurement",
        _ => status.ToString(),
    };
}
