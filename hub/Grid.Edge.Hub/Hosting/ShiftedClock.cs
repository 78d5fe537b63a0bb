using System.Globalization;
using Grid.Edge.Hub.Configuration;

namespace Grid.Edge.Hub.Hosting;

/// <summary>
/// A fault-injection hook for tests: the hub's wall clock shifted by a fixed offset, as on a hub whose clock is wrong
/// (a Raspberry Pi without a real-time clock, NTP out of reach). Only the host composes it, from
/// <see cref="Variable"/>; it is not a setting. Everything that reads the wall time (the store's hybrid clock and
/// stamps, the grid's delta clock and its skew judgement, ingest, the API) takes it from the one
/// <see cref="TimeProvider"/> in the container. Monotonic time (timestamps, timers) is not shifted: a wrong clock
/// does not change how long a second lasts.
/// </summary>
internal sealed class ShiftedClock(TimeProvider inner, TimeSpan offset) : TimeProvider
{
    /// <summary>Seconds (an integer, negative for a clock behind) to add to the wall clock.</summary>
    public const string Variable = "GRID_CLOCK_OFFSET_SECONDS";

    /// <summary>The largest offset taken: a year either way.</summary>
    public const long MaxSeconds = 366L * 24 * 3600;

    public TimeSpan Offset { get; } = offset;

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Offset;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);

    /// <summary>The system clock, shifted when <paramref name="value"/> (the variable's value) names an offset other than 0.</summary>
    /// <exception cref="HubConfigurationException">The value is not a whole number of seconds within a year.</exception>
    public static TimeProvider Compose(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return TimeProvider.System;
        if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) || Math.Abs(seconds) > MaxSeconds)
            throw new HubConfigurationException($"{Variable} '{value}' is not a whole number of seconds between -{MaxSeconds} and {MaxSeconds}; it shifts the hub's clock for fault-injection tests: unset it to run with the system clock.");
        return seconds == 0 ? TimeProvider.System : new ShiftedClock(TimeProvider.System, TimeSpan.FromSeconds(seconds));
    }
}
