using System;
using System.Device.Gpio;
using System.Threading;
using Grid.Edge.Firmware.Core.Platform;
using nanoFramework.Hardware.Esp32;

namespace Grid.Edge.Firmware.Device;

/// <summary>Deep sleep with two wake sources: the timer, and the rain gauge's reed switch (ext0, active low).</summary>
internal sealed class Esp32Power : IPower
{
    private readonly Sleep.WakeupGpioPin _rainWakePin;
    private readonly GpioPin _rainPin;

    public Esp32Power(GpioController gpio, int rainGpio)
    {
        _rainWakePin = (Sleep.WakeupGpioPin)((ulong)1 << rainGpio);
        _rainPin = gpio.OpenPin(rainGpio, PinMode.Input);
    }

    /// <summary>The rain gauge's reed switch, for counting tips while awake.</summary>
    public GpioPin RainPin => _rainPin;

    public bool WasPowerCycled => Sleep.GetWakeupCause() == Sleep.WakeupCause.Undefined;

    public bool WokeByRainGauge => Sleep.GetWakeupCause() == Sleep.WakeupCause.Ext0;

    public void Pause(int milliseconds) => Thread.Sleep(milliseconds);

    public void DeepSleep(long milliseconds)
    {
        if (milliseconds < 1000)
            milliseconds = 1000;
        Sleep.EnableWakeupByTimer(TimeSpan.FromTicks(milliseconds * TimeSpan.TicksPerMillisecond));
        // A switch held closed (bucket stuck half way) would wake the board again at once and drain the battery:
        // then only the timer wakes it, until the switch opens.
        if (_rainPin.Read() == PinValue.High)
            Sleep.EnableWakeupByPin(_rainWakePin, 0);
        Sleep.StartDeepSleep();
    }
}
