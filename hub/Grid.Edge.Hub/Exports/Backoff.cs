namespace Grid.Edge.Hub.Exports;

/// <summary>
/// How long an export waits before trying a failed write again: doubling from <see cref="First"/> to at most
/// <see cref="Longest"/>, each wait shortened by up to a fifth at random so that hubs an outage stopped together do
/// not come back at once.
/// </summary>
internal sealed record Backoff(TimeSpan First, TimeSpan Longest)
{
    public static readonly Backoff Default = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row (1 for the first); <paramref name="jitter"/> in [0, 1).</summary>
    public TimeSpan Delay(int failures, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(failures);
        if (jitter is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "jitter is a fraction in [0, 1)");
        var doublings = Math.Min(failures - 1, 30);
        var full = Math.Min(First.Ticks * Math.Pow(2, doublings), Longest.Ticks);
        return TimeSpan.FromTicks((long)(full * (1 - (jitter / 5))));
    }
}
