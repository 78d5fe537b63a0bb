namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>
/// The device clock. Before it is synchronized it counts milliseconds since power-on (the ESP32 RTC keeps
/// counting through deep sleep); after synchronization it is UTC in Unix milliseconds.
/// </summary>
public interface IClock
{
    /// <summary>Now, in the clock's current scale.</summary>
    long NowMilliseconds { get; }

    /// <summary>True once the clock reads UTC (set by SNTP, possibly before this wake).</summary>
    bool IsSynchronized { get; }

    /// <summary>
    /// Asks the time server. On success <paramref name="stepMilliseconds"/> is how far the clock jumped
    /// (new reading minus old reading at the same instant), which dates readings taken before.
    /// </summary>
    bool TrySynchronize(out long stepMilliseconds);
}
