using System.Device.Gpio;
using System.Globalization;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Devices.PulseCounting;

/// <summary>
/// Cup anemometer on a GPIO: every closure is stamped; a read turns the closures since the previous read into
/// per-second counts and gives the mean speed and the gust (highest 3-second mean, WMO), with the firmware core's
/// wind meter. Closures closer than the debounce time are contact bounce.
/// </summary>
public sealed class AnemometerSensor : ISensor
{
    private const int MaxWindowSeconds = 600;

    private readonly Lock _sync = new();
    private readonly Queue<long> _pulses = new();
    private readonly double _metresPerSecondPerHertz;
    private readonly int _debounceMilliseconds;
    private readonly TimeProvider _time;
    private readonly GpioPulseInput _input;
    private long _windowStart;
    private long _lastPulse = long.MinValue;

    public AnemometerSensor(GpioController controller, int pin, double metresPerSecondPerHertz, int debounceMilliseconds, TimeProvider time)
    {
        _metresPerSecondPerHertz = metresPerSecondPerHertz;
        _debounceMilliseconds = debounceMilliseconds;
        _time = time;
        _windowStart = time.GetUtcNow().ToUnixTimeMilliseconds();
        _input = new GpioPulseInput(controller, pin, OnPulse, time);
        Description = string.Create(CultureInfo.InvariantCulture, $"anemometer on GPIO {pin} ({metresPerSecondPerHertz} m/s per Hz)");
    }

    public string Description { get; }

    public IReadOnlyList<SensorReading> Read()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var pulses = new List<long>();
        long start;
        int seconds;
        lock (_sync)
        {
            start = _windowStart;
            if (now - start > MaxWindowSeconds * 1000L)
            {
                // Not read for a long time: only the last stretch counts.
                start = now - (MaxWindowSeconds * 1000L);
                while (_pulses.Count > 0 && _pulses.Peek() < start)
                    _pulses.Dequeue();
            }

            seconds = (int)((now - start) / 1000);
            if (seconds < WindMeter.GustSeconds)
                return [];

            // Whole seconds only; pulses of the unfinished second wait for the next read.
            var end = start + (seconds * 1000L);
            while (_pulses.Count > 0 && _pulses.Peek() < end)
                pulses.Add(_pulses.Dequeue());
            _windowStart = end;
        }

        var meter = new WindMeter(_metresPerSecondPerHertz, seconds);
        meter.Begin();
        var counts = new int[seconds];
        foreach (var t in pulses)
        {
            var second = (int)((t - start) / 1000);
            if (second >= 0 && second < seconds)
                counts[second]++;
        }

        foreach (var count in counts)
            meter.AddSecond(count);
        if (!meter.TryGetResult(out var mean, out var gust))
            return [];
        return
        [
            new SensorReading("wind_speed", Math.Round(mean, 2), "m/s"),
            new SensorReading("wind_gust", Math.Round(gust, 2), "m/s"),
        ];
    }

    public void Dispose() => _input.Dispose();

    private void OnPulse(long now)
    {
        lock (_sync)
        {
            if (_lastPulse != long.MinValue && now - _lastPulse < _debounceMilliseconds)
                return;
            _lastPulse = now;
            _pulses.Enqueue(now);
        }
    }
}
