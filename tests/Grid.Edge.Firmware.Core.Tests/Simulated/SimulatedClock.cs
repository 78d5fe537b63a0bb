using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>
/// The ESP32 clock: counts from power-on until SNTP sets it to UTC. <see cref="Advance"/> moves true time;
/// the clock reading follows it in its current scale.
/// </summary>
internal sealed class SimulatedClock : IClock
{
    private long _offset;

    /// <param name="trueUtcMilliseconds">What UTC really is at power-on.</param>
    public SimulatedClock(long trueUtcMilliseconds, bool synchronized)
    {
        TrueUtc = trueUtcMilliseconds;
        IsSynchronized = synchronized;
        _offset = synchronized ? 0 : -trueUtcMilliseconds;
    }

    public long TrueUtc { get; private set; }

    /// <summary>Whether a time server answers.</summary>
    public bool ServerReachable { get; set; } = true;

    public int Synchronizations { get; private set; }

    public long NowMilliseconds => TrueUtc + _offset;

    public bool IsSynchronized { get; private set; }

    public void Advance(long milliseconds) => TrueUtc += milliseconds;

    /// <summary>A power cut: RTC time is lost and counting starts again from zero.</summary>
    public void PowerCycle()
    {
        IsSynchronized = false;
        _offset = -TrueUtc;
    }

    public bool TrySynchronize(out long stepMilliseconds)
    {
        stepMilliseconds = 0;
        if (!ServerReachable)
            return false;
        stepMilliseconds = -_offset;
        _offset = 0;
        IsSynchronized = true;
        Synchronizations++;
        return true;
    }
}
