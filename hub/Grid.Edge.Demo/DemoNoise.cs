namespace Grid.Edge.Demo;

/// <summary>
/// Deterministic noise: the same (seed, time) always gives the same value, so a demo restarted over the same
/// data directory regenerates identical readings (stored once) and backfills only what is missing.
/// </summary>
internal static class DemoNoise
{
    /// <summary>A value in [-1, 1] for integer <paramref name="index"/>.</summary>
    public static double Hash(ulong seed, long index)
    {
        var z = seed + (ulong)index * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (2.0 / (1UL << 53)) - 1.0;
    }

    /// <summary>Smooth noise in [-1, 1]: hashed knots every <paramref name="periodMs"/>, eased in between.</summary>
    public static double Smooth(ulong seed, long timeMs, double periodMs)
    {
        var x = timeMs / periodMs;
        var knot = (long)Math.Floor(x);
        var f = x - knot;
        f = f * f * (3 - 2 * f);
        return Hash(seed, knot) * (1 - f) + Hash(seed, knot + 1) * f;
    }
}
