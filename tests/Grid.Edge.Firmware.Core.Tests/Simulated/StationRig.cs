using Grid.Edge.Firmware.Core.Platform;
using Grid.Edge.Firmware.Core.Station;
using Grid.Edge.Simulation.Devices;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>
/// A whole simulated ESP32 station: flash, RTC clock, Wi-Fi, BME280 on I2C, anemometer, ADC. <see cref="Wake"/> runs one
/// deep-sleep cycle the way the device does: a fresh program start over the same persistent memory, then sleep.
/// </summary>
internal sealed class StationRig
{
    public StationRig(long trueUtcAtPowerOn, int slots, IMqttLink link, StationOptions? options = null, bool clockSet = true)
    {
        Clock = new SimulatedClock(trueUtcAtPowerOn, clockSet);
        Power = new SimulatedPower(Clock) { WasPowerCycled = true };
        Memory = new MemoryBlock((2 * Buffering.ReadingRing.HeaderSize) + (slots * Buffering.ReadingRing.SlotSize));
        Link = link;
        Options = options ?? new StationOptions
        {
            DeviceId = "roof-station",
            SampleIntervalSeconds = 600,
            PublishEverySamples = 3,
            WindWindowSeconds = 3,
        };
    }

    public SimulatedClock Clock { get; }

    public SimulatedPower Power { get; }

    public MemoryBlock Memory { get; }

    public SimulatedNetwork Network { get; } = new();

    public IMqttLink Link { get; }

    public SimulatedBme280Bus Bme280 { get; } = new();

    public SimulatedPulses Anemometer { get; } = new();

    public SimulatedAdc Supply { get; } = new();

    public StationOptions Options { get; }

    /// <summary>True UTC of every sample taken, in order.</summary>
    public List<long> SampleTimes { get; } = [];

    private long _pendingSleep;

    public WeatherStation Last { get; private set; } = null!;

    public WeatherStation Create() =>
        new(Options, Clock, Power, Memory, Network, Link, Bme280, Anemometer, Supply);

    /// <summary>The timer wake: sleeps out what the last run asked for, then starts and runs the program.</summary>
    public WeatherStation Wake()
    {
        Power.DeepSleep(_pendingSleep);
        return Run(0, 0);
    }

    /// <summary>
    /// A bucket tip wakes the board <paramref name="afterMilliseconds"/> into its sleep (ext0 wake); the contact
    /// bounces <paramref name="bounces"/> times a few ms later. The program starts, counts the tip, and sleeps again.
    /// </summary>
    public WeatherStation TipWake(long afterMilliseconds, int bounces)
    {
        var slept = Math.Min(afterMilliseconds, _pendingSleep);
        Power.DeepSleep(slept);
        _pendingSleep -= slept;
        return Run(1, bounces);
    }

    private WeatherStation Run(int tips, int bounces)
    {
        var station = Create();
        Assert.True(station.Start(), "the persistent memory did not open");
        for (var i = 0; i < tips; i++)
        {
            station.OnRainTip();
            for (var b = 0; b < bounces; b++)
            {
                Clock.Advance(3);
                station.OnRainTip();
            }
        }

        var trueNow = Clock.TrueUtc;
        _pendingSleep = station.RunOnce();
        if (station.SampledLastRun)
            SampleTimes.Add(trueNow);
        Power.WasPowerCycled = false;
        Last = station;
        return station;
    }

    /// <summary>The supply fails and comes back: RTC time and RTC memory-less state are gone, flash stays.</summary>
    public void PowerCycle()
    {
        Clock.PowerCycle();
        Power.WasPowerCycled = true;
    }
}
