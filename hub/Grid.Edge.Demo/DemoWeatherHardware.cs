using System.Device.Gpio;
using Grid.Edge.Agent.Sensors;
using Grid.Edge.Devices.Bme280;
using Grid.Edge.Devices.PulseCounting;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Simulation.Devices;
using Grid.Edge.Devices.WindVane;

namespace Grid.Edge.Demo;

/// <summary>
/// The demo weather station's parts, driven by the weather model: a BME280 register file set to the modelled air,
/// reed-switch pulses on two GPIOs for rain and wind, a wind vane on an MCP3008 channel. The agent reads them
/// through its real bindings, exactly as on a Raspberry Pi.
/// </summary>
internal sealed class DemoWeatherHardware : ISensorFactory, IDisposable
{
    public const int RainPin = 17;
    public const int AnemometerPin = 27;
    private const double MillimetresPerTip = 0.2794;
    private const double MetresPerSecondPerHertz = 0.667;

    private readonly SimulatedBme280 _bme = new();
    private readonly SimulatedGpioDriver _gpio = new();
    private readonly SimulatedMcp3008 _adc = new();
    private readonly GpioController _controller;
    private readonly WeatherStationModel _model;
    private readonly TimeProvider _time;
    private double _windPhase;
    private double _rainTips;

    public DemoWeatherHardware(WeatherStationModel model, TimeProvider time)
    {
        _model = model;
        _time = time;
        _controller = new GpioController(_gpio);
        Update(0.1);
    }

    /// <summary>The agent's sensor list for this station.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Settings()
    {
        string[] sensors = ["bme280", "rain", "anemometer", "windvane"];
        for (var i = 0; i < sensors.Length; i++)
        {
            yield return new($"Agent:Sensors:{i}:Type", sensors[i]);
            yield return new($"Agent:Sensors:{i}:IntervalSeconds", i == 0 ? "2" : "10");
        }

        yield return new("Agent:Sensors:1:Pin", RainPin.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("Agent:Sensors:2:Pin", AnemometerPin.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public ISensor Create(SensorOptions options) => options.Type switch
    {
        "bme280" => new Bme280Sensor(_bme),
        "rain" => new RainGaugeSensor(_controller, options.Pin, MillimetresPerTip, 100, _time),
        "anemometer" => new AnemometerSensor(_controller, options.Pin, MetresPerSecondPerHertz, 5, _time),
        "windvane" => new WindVaneSensor(new Mcp3008(_adc), options.Channel),
        _ => throw new SensorException($"the demo station has no {options.Type}"),
    };

    /// <summary>Moves the hardware on by <paramref name="seconds"/>: new air conditions, and the pulses the cups and the bucket make meanwhile.</summary>
    public void Update(double seconds)
    {
        var t = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var now = _model.ReadingsAt(t, 2000).ToDictionary(r => r.Series.Metric, r => r.Value);
        _bme.SetConditions(now["temperature"], now["pressure"], now["humidity"]);
        _adc.PointVane(0, now["wind_direction"]);

        // Gusts: the cups spin at the gust speed for three seconds out of ten.
        var speed = t / 1000 % 10 < 3 ? now["wind_gust"] : now["wind_speed"];
        _windPhase += speed / MetresPerSecondPerHertz * seconds;
        while (_windPhase >= 1)
        {
            _gpio.Pulse(AnemometerPin);
            _windPhase--;
        }

        _rainTips += WeatherStationModel.RainRate(t) / 3600 / MillimetresPerTip * seconds;
        while (_rainTips >= 1)
        {
            _gpio.Pulse(RainPin);
            _rainTips--;
        }
    }

    public void Dispose() => _controller.Dispose();
}
