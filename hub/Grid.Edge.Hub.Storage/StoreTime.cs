namespace Grid.Edge.Hub.Storage;

/// <summary>
/// The times the store can hold: within 2^46 ms (about 2,200 years) of 1970, because a write stamp's clock value
/// keeps the milliseconds shifted past its counter bits. Reads clamp their range to this, so no range arithmetic
/// can overflow, whatever a query asked for.
/// </summary>
public static class StoreTime
{
    /// <summary>Stored times lie strictly within this many milliseconds of the Unix epoch.</summary>
    public const long Limit = 1L << 46;

    /// <summary>The earliest bound a read uses: before every storable time.</summary>
    public const long MinMs = -Limit;

    /// <summary>The latest (exclusive) bound a read uses: after every storable time.</summary>
    public const long MaxMs = Limit;

    public static long Clamp(long ms) => Math.Clamp(ms, MinMs, MaxMs);
}
