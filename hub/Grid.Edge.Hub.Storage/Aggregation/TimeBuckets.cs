namespace Grid.Edge.Hub.Storage.Aggregation;

/// <summary>Which bucket of a fixed size a time falls in, for negative times and open-ended ranges too.</summary>
internal static class TimeBuckets
{
    public const long MinuteMs = 60_000;
    public const long HourMs = 3_600_000;

    /// <summary>The start of the bucket of <paramref name="size"/> holding <paramref name="t"/> (rounded down, also before 1970); long.MinValue clamps instead of wrapping.</summary>
    public static long StartOf(long t, long size) =>
        t >= 0 ? t / size * size
        : t - long.MinValue < size ? long.MinValue
        : ((t + 1) / size - 1) * size;

    /// <summary>The start of the first bucket of <paramref name="size"/> at or after <paramref name="t"/>.</summary>
    public static long FirstStartAtOrAfter(long t, long size) => (t >= 0 ? (t + size - 1) / size : t / size) * size;
}
