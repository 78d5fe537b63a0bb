using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>Pauses and deep sleeps move the simulated clock instead of waiting.</summary>
internal sealed class SimulatedPower(SimulatedClock clock) : IPower
{
    public bool WasPowerCycled { get; set; }

    public long Slept { get; private set; }

    public void Pause(int milliseconds) => clock.Advance(milliseconds);

    public void DeepSleep(long milliseconds)
    {
        Slept += milliseconds;
        clock.Advance(milliseconds);
    }
}
