namespace Grid.Edge.Hub.Intelligence.Weather;

/// <summary>How pressure moved over the last three hours (weather.md section 4, Met Office terms).</summary>
public enum PressureTendency
{
    FallingVeryRapidly = -4,
    FallingQuickly = -3,
    Falling = -2,
    FallingSlowly = -1,
    Steady = 0,
    RisingSlowly = 1,
    Rising = 2,
    RisingQuickly = 3,
    RisingVeryRapidly = 4,
}

/// <summary>Sea-level reduction, pressure tendency and altitude (weather.md section 4).</summary>
public static class Barometry
{
    /// <summary>Sea-level pressure from station pressure (hPa) and altitude (m); temperature-corrected when a temperature is given.</summary>
    public static double SeaLevelPressure(double stationPressure, double altitude, double? temperature = null) =>
        temperature is { } t
            ? stationPressure * Math.Pow(1 - (0.0065 * altitude / (t + (0.0065 * altitude) + 273.15)), -5.257)
            : stationPressure / Math.Pow(1 - (altitude / 44330), 5.255);

    /// <summary>Altitude (m) at which <paramref name="pressure"/> is measured when sea level is <paramref name="seaLevel"/> (ISA).</summary>
    public static double Altitude(double pressure, double seaLevel = 1013.25) => 44330 * (1 - Math.Pow(pressure / seaLevel, 1 / 5.255));

    /// <summary>The tendency class of a 3-hour change in hPa.</summary>
    public static PressureTendency Tendency(double change3h)
    {
        var size = Math.Abs(change3h);
        var level = size < 0.1 ? 0 : size <= 1.5 ? 1 : size <= 3.5 ? 2 : size <= 6.0 ? 3 : 4;
        return (PressureTendency)(change3h < 0 ? -level : level);
    }

    public static string Describe(PressureTendency tendency) => tendency switch
    {
        PressureTendency.FallingVeryRapidly => "falling very rapidly",
        PressureTendency.FallingQuickly => "falling quickly",
        PressureTendency.Falling => "falling",
        PressureTendency.FallingSlowly => "falling slowly",
        PressureTendency.Steady => "steady",
        PressureTendency.RisingSlowly => "rising slowly",
        PressureTendency.Rising => "rising",
        PressureTendency.RisingQuickly => "rising quickly",
        _ => "rising very rapidly",
    };
}
