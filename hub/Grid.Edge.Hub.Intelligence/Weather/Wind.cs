namespace Grid.Edge.Hub.Intelligence.Weather;

/// <summary>Wind conventions (weather.md section 7): vector averages, compass points, Beaufort.</summary>
public static class Wind
{
    private static readonly string[] Points = ["N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"];
    private static readonly double[] BeaufortUpper = [0.5, 1.5, 3.3, 5.4, 7.9, 10.7, 13.8, 17.1, 20.7, 24.4, 28.4, 32.6];

    /// <summary>
    /// Mean direction of several (direction, weight) pairs as a vector mean (350 and 10 average to 0, not 180);
    /// null when they cancel out or there are none. Weight by speed for a speed-weighted mean, or 1 each.
    /// </summary>
    public static double? MeanDirection(IEnumerable<(double Degrees, double Weight)> samples)
    {
        double x = 0, y = 0;
        foreach (var (degrees, weight) in samples)
        {
            var radians = degrees * Math.PI / 180;
            x += Math.Sin(radians) * weight;
            y += Math.Cos(radians) * weight;
        }

        if (Math.Abs(x) < 1e-9 && Math.Abs(y) < 1e-9)
            return null;
        var mean = Math.Atan2(x, y) * 180 / Math.PI;
        return (mean + 360) % 360;
    }

    /// <summary>The 16-point compass name of a direction.</summary>
    public static string Compass(double degrees) => Points[(int)Math.Floor((((degrees % 360) + 360) % 360 + 11.25) / 22.5) % 16];

    /// <summary>Beaufort force of a 10-minute mean wind in m/s.</summary>
    public static int Beaufort(double metresPerSecond)
    {
        var rounded = Math.Round(metresPerSecond, 1);
        for (var force = 0; force < BeaufortUpper.Length; force++)
        {
            if (rounded < BeaufortUpper[force] || (force > 0 && rounded <= BeaufortUpper[force]))
                return force;
        }

        return 12;
    }
}
