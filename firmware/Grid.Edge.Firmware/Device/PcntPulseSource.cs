using System.Device.Gpio;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Device;

/// <summary>The anemometer's reed switch on an ESP32 PCNT unit, whose glitch filter removes contact bounce.</summary>
internal sealed class PcntPulseSource : IPulseSource
{
    private readonly GpioPulseCounter _counter;

    public PcntPulseSource(int gpio)
    {
        _counter = new GpioPulseCounter(gpio);
        _counter.Polarity = GpioPulsePolarity.Falling;
        // Maximum filter: pulses shorter than about 12.8 us are glitches (a 120 m/s gust is only ~180 Hz).
        _counter.FilterPulses = 1023;
    }

    public void StartCounting()
    {
        _counter.Reset();
        _counter.Start();
    }

    public int TakeCount() => (int)_counter.Reset().Count;

    public void StopCounting() => _counter.Stop();
}
