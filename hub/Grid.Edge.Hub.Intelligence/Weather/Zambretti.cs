namespace Grid.Edge.Hub.Intelligence.Weather;

/// <summary>
/// The Zambretti forecaster, classic linear variant (weather.md section 5): sea-level pressure and its 3-hour trend
/// (beyond ±1.6 hPa counts as rising or falling) give a number 1-32 and a short forecast. Rounding is half away from
/// zero, as in the C and JavaScript implementations the vectors come from.
/// </summary>
public static class Zambretti
{
    public const double TrendThreshold = 1.6;

    private static readonly string[] Texts =
    [
        string.Empty,
        "Settled fine", "Fine weather", "Fine, becoming less settled", "Fairly fine, showery later", "Showery, becoming more unsettled",
        "Unsettled, rain later", "Rain at times, worse later", "Rain at times, becoming very unsettled", "Very unsettled, rain",
        "Settled fine", "Fine weather", "Fine, possibly showers", "Fairly fine, showers likely", "Showery, bright intervals",
        "Changeable, some rain", "Unsettled, rain at times", "Rain at frequent intervals", "Very unsettled, rain", "Stormy, much rain",
        "Settled fine", "Fine weather", "Becoming fine", "Fairly fine, improving", "Fairly fine, possibly showers early",
        "Showery early, improving", "Changeable, mending", "Rather unsettled, clearing later", "Unsettled, probably improving",
        "Unsettled, short fine intervals", "Very unsettled, finer at times", "Stormy, possibly improving", "Stormy, much rain",
    ];

    /// <summary>The forecast number for sea-level pressure <paramref name="seaLevel"/> (hPa) and its change over 3 hours.</summary>
    public static int Forecast(double seaLevel, double change3h)
    {
        if (change3h <= -TrendThreshold)
            return Math.Clamp((int)Math.Round(127 - (0.12 * seaLevel), MidpointRounding.AwayFromZero), 1, 9);
        if (change3h >= TrendThreshold)
            return Math.Clamp((int)Math.Round(185 - (0.16 * seaLevel), MidpointRounding.AwayFromZero), 20, 32);
        return Math.Clamp((int)Math.Round(144 - (0.13 * seaLevel), MidpointRounding.AwayFromZero), 10, 19);
    }

    public static string Text(int forecast) =>
        forecast is >= 1 and <= 32 ? Texts[forecast] : throw new ArgumentOutOfRangeException(nameof(forecast), "Zambretti numbers are 1-32");
}
