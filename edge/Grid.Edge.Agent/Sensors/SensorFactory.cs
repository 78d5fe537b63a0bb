using System.Device.Gpio;
using Grid.Edge.Devices.Bme280;
using Grid.Edge.Devices.Ds18b20;
using Grid.Edge.Devices.Gps;
using Grid.Edge.Devices.PulseCounting;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Devices.WindVane;

namespace Grid.Edge.Agent.Sensors;

/// <summary>Opens the hardware a sensor entry names. Replaced in tests and in the hub's demo by one with simulated parts.</summary>
public interface ISensorFactory
{
    ISensor Create(SensorOptions options);
}

/// <summary>The real parts: I2C, SPI and GPIO of the board, sysfs, gpsd.</summary>
internal sealed class HardwareSensorFactory(TimeProvider time) : ISensorFactory, IDisposable
{
    private readonly Lazy<GpioController> _gpio = new(() => new GpioController());

    public ISensor Create(SensorOptions options) => options.Type.ToLowerInvariant() switch
    {
        "bme280" => Bme280Sensor.Open(options.Bus, options.AddressValue),
        "ds18b20" => new Ds18b20Sensor(ProbeId(options.Id), options.Metric),
        "rain" => new RainGaugeSensor(Gpio(), options.Pin, options.MillimetresPerTip, options.DebounceMs >= 0 ? options.DebounceMs : 100, time),
        "anemometer" => new AnemometerSensor(Gpio(), options.Pin, options.MetresPerSecondPerHertz, options.DebounceMs >= 0 ? options.DebounceMs : 5, time),
        "windvane" => WindVaneSensor.Open(options.SpiBus, options.ChipSelect, options.Channel, options.PullUpOhms, options.OffsetDegrees),
        "gps" => new GpsdSensor(options.Host, options.Port, time),
        _ => throw new SensorException($"unknown sensor type '{options.Type}'"),
    };

    public void Dispose()
    {
        if (_gpio.IsValueCreated)
            _gpio.Value.Dispose();
    }

    private GpioController Gpio()
    {
        try
        {
            return _gpio.Value;
        }
        catch (Exception e) when (e is PlatformNotSupportedException or IOException or UnauthorizedAccessException)
        {
            throw new SensorException($"cannot open the GPIO controller: {e.Message} (add the user to the 'gpio' group)");
        }
    }

    private static string ProbeId(string id)
    {
        if (id != "auto")
            return id;
        var found = Ds18b20Sensor.Discover();
        return found.Count == 1 ? found[0]
            : throw new SensorException(found.Count == 0
                ? "no DS18B20 on the 1-Wire bus (dtoverlay=w1-gpio in /boot/config.txt, 4.7 kOhm pull-up)"
                : $"several DS18B20 probes ({string.Join(", ", found)}): give each its Id");
    }
}
