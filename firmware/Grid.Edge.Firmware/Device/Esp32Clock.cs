using System;
using System.Threading;
using Grid.Edge.Firmware.Core.Platform;
using nanoFramework.Hardware.Esp32;
using nanoFramework.Networking;

namespace Grid.Edge.Firmware.Device;

/// <summary>
/// The ESP32 RTC: it keeps counting through deep sleep, from 1970 at power-on until SNTP sets it.
/// The step at synchronization is measured against the high-resolution timer, which does not jump.
/// </summary>
internal sealed class Esp32Clock : IClock
{
    private const long UnixEpochTicks = 621355968000000000L;

    // Anything before 2024 means the clock was never set since power-on.
    private const long SetThresholdMilliseconds = 1704067200000L;

    public Esp32Clock(string sntpServer)
    {
        Sntp.Server1 = sntpServer;
    }

    public long NowMilliseconds => (DateTime.UtcNow.Ticks - UnixEpochTicks) / TimeSpan.TicksPerMillisecond;

    public bool IsSynchronized => NowMilliseconds > SetThresholdMilliseconds;

    public bool TrySynchronize(out long stepMilliseconds)
    {
        stepMilliseconds = 0;
        var before = NowMilliseconds;
        var timerBefore = (long)HighResTimer.GetCurrent();
        var wasSet = IsSynchronized;
        Sntp.Start();
        Sntp.UpdateNow();
        for (var i = 0; i < 50 && (!IsSynchronized || (!wasSet && NowMilliseconds - before < 1000)); i++)
        {
            if (IsSynchronized && NowMilliseconds - before > 1000)
                break;
            Thread.Sleep(100);
        }

        Sntp.Stop();
        if (!IsSynchronized)
            return false;
        var elapsed = ((long)HighResTimer.GetCurrent() - timerBefore) / 1000;
        stepMilliseconds = NowMilliseconds - before - elapsed;
        return true;
    }
}
