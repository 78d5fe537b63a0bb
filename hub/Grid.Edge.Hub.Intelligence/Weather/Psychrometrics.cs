namespace Grid.Edge.Hub.Intelligence.Weather;

/// <summary>Dew point, heat index and wind chill (shared reference weather.md sections 1-3).</summary>
public static class Psychrometrics
{
    /// <summary>Magnus constants: Sonntag 1990 as in the WMO guide (valid -45..60 degC).</summary>
    public const double MagnusA = 17.62;
    public const double MagnusB = 243.12;

    /// <summary>Dew point over water in degC; null when the humidity is not in (0, 100].</summary>
    public static double? DewPoint(double temperature, double humidity, double a = MagnusA, double b = MagnusB)
    {
        if (!(humidity > 0 && humidity <= 100) || !double.IsFinite(temperature))
            return null;
        var gamma = Math.Log(humidity / 100) + (a * temperature / (b + temperature));
        return b * gamma / (a - gamma);
    }

    /// <summary>US NWS heat index (Rothfusz regression with the Steadman simple formula below 80 degF) in degC.</summary>
    public static double HeatIndex(double temperature, double humidity)
    {
        var t = (temperature * 9 / 5) + 32;
        var rh = humidity;
        var simple = 0.5 * (t + 61.0 + ((t - 68.0) * 1.2) + (rh * 0.094));
        double hi;
        if ((simple + t) / 2 < 80)
        {
            hi = simple;
        }
        else
        {
            hi = -42.379 + (2.04901523 * t) + (10.14333127 * rh) - (0.22475541 * t * rh) - (0.00683783 * t * t)
                - (0.05481717 * rh * rh) + (0.00122874 * t * t * rh) + (0.00085282 * t * rh * rh) - (0.00000199 * t * t * rh * rh);
            if (rh < 13 && t is >= 80 and <= 112)
                hi -= (13 - rh) / 4 * Math.Sqrt((17 - Math.Abs(t - 95)) / 17);
            else if (rh > 85 && t is >= 80 and <= 87)
                hi += (rh - 85) / 10 * ((87 - t) / 5);
        }

        return (hi - 32) * 5 / 9;
    }

    /// <summary>
    /// NWS / Environment Canada 2001 wind chill in degC from degC and the wind in m/s; defined for T &lt;= 10 degC and
    /// wind &gt; 4.8 km/h, otherwise the air temperature itself.
    /// </summary>
    public static double WindChill(double temperature, double windMetresPerSecond)
    {
        var v = windMetresPerSecond * 3.6;
        if (temperature > 10 || v <= 4.8)
            return temperature;
        var p = Math.Pow(v, 0.16);
        return 13.12 + (0.6215 * temperature) - (11.37 * p) + (0.3965 * temperature * p);
    }

    /// <summary>The imperial form (degF, mph), as the NWS chart is printed.</summary>
    public static double WindChillFahrenheit(double temperature, double mph) =>
        temperature > 50 || mph < 3 ? temperature : 35.74 + (0.6215 * temperature) - (35.75 * Math.Pow(mph, 0.16)) + (0.4275 * temperature * Math.Pow(mph, 0.16));
}
