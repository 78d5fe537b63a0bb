using System.Device.Gpio;
using System.Globalization;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Devices.PulseCounting;

/// <summary>
/// Tipping-bucket rain gauge on a GPIO. Reports the rain since the previous read (<c>rain</c>) and the gauge's
/// counter since the agent started (<c>rain_total</c>; the hub handles counter resets). Debounce and mm per tip
/// are the firmware core's rain gauge, shared with the ESP32 station.
/// </summary>
public sealed class RainGaugeSensor : ISensor
{
    private readonly RainGauge _gauge;
    private readonly GpioPulseInput _input;
    private int _reported;

    public RainGaugeSensor(GpioController controller, int pin, double millimetresPerTip, int debounceMilliseconds, TimeProvider time)
    {
        _gauge = new RainGauge(millimetresPerTip, debounceMilliseconds);
        _input = new GpioPulseInput(controller, pin, now => _gauge.OnTip(now), time);
        Description = string.Create(CultureInfo.InvariantCulture, $"rain gauge on GPIO {pin} ({millimetresPerTip} mm per tip)");
    }

    public string Description { get; }

    /// <summary>Closures ignored as contact bounce.</summary>
    public int Bounces => _gauge.Bounces;

    public IReadOnlyList<SensorReading> Read()
    {
        var tips = _gauge.Tips;
        var fresh = tips - _reported;
        _reported = tips;
        return
        [
            new SensorReading("rain", Math.Round(_gauge.Millimetres(fresh), 4), "mm"),
            new SensorReading("rain_total", Math.Round(_gauge.Millimetres(tips), 4), "mm"),
        ];
    }

    public void Dispose() => _input.Dispose();
}
