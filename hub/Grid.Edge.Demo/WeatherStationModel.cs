using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Demo;

/// <summary>
/// A simulated weather station: a diurnal temperature cycle, humidity that follows it, pressure with passing
/// fronts, gusty wind that freshens as pressure falls, and rain showers that come with falling pressure.
/// </summary>
internal sealed class WeatherStationModel(string device)
{
    private const double Hour = 3_600_000;

    public string Device { get; } = device;

    public static readonly string[] Metrics = ["temperature", "humidity", "pressure", "wind_speed", "wind_gust", "wind_direction", "rain", "rain_rate"];

    public static double Pressure(long t) => 1013 + 14 * DemoNoise.Smooth(11, t, 20 * Hour) + 2.5 * DemoNoise.Smooth(12, t, 5 * Hour);

    /// <summary>hPa per 3 hours.</summary>
    public static double PressureTrend(long t) => Pressure(t) - Pressure(t - (long)(3 * Hour));

    public static double RainRate(long t)
    {
        var shower = DemoNoise.Smooth(21, t, 1.5 * Hour) + 0.35 * DemoNoise.Smooth(22, t, 0.25 * Hour);
        var falling = Math.Clamp(-PressureTrend(t) / 3, 0, 1);
        var rate = Math.Max(0, shower - 0.55) * 45 * (0.25 + 0.75 * falling);
        return rate < 0.2 ? 0 : rate;
    }

    public static double Temperature(long t)
    {
        var hourOfDay = t % 86_400_000 / Hour;
        var diurnal = 6.5 * Math.Sin(2 * Math.PI * (hourOfDay - 9) / 24);
        var weather = 3.5 * DemoNoise.Smooth(31, t, 36 * Hour);
        var rainCooling = RainRate(t) > 0 ? 1.8 : 0;
        return 11 + diurnal + weather - rainCooling + 0.15 * DemoNoise.Hash(32, t / 60_000);
    }

    /// <summary>The readings the station reports at <paramref name="t"/> for the interval that ends then.</summary>
    public IEnumerable<Reading> ReadingsAt(long t, long intervalMs)
    {
        var temperature = Temperature(t);
        var rainRate = RainRate(t);
        var humidity = Math.Clamp(74 - 2.6 * (temperature - 11) + 8 * DemoNoise.Smooth(41, t, 6 * Hour) + (rainRate > 0 ? 18 : 0), 18, 100);
        var trend = PressureTrend(t);
        var wind = Math.Max(0, 2.6 + 2.2 * DemoNoise.Smooth(51, t, 3 * Hour) + Math.Clamp(-trend, 0, 6) * 0.6 + 0.8 * DemoNoise.Smooth(52, t, 90_000));
        var gust = wind * (1.3 + 0.45 * Math.Abs(DemoNoise.Hash(53, t / 3000)));
        var direction = (250 + 70 * DemoNoise.Smooth(61, t, 9 * Hour) + 12 * DemoNoise.Hash(62, t / 10_000) + 360) % 360;
        yield return R("temperature", t, Math.Round(temperature, 1), "degC");
        yield return R("humidity", t, Math.Round(humidity, 1), "%");
        yield return R("pressure", t, Math.Round(Pressure(t), 1), "hPa");
        yield return R("wind_speed", t, Math.Round(wind, 1), "m/s");
        yield return R("wind_gust", t, Math.Round(gust, 1), "m/s");
        yield return R("wind_direction", t, Math.Round(direction), "deg");
        yield return R("rain", t, Math.Round(rainRate * intervalMs / Hour, 2), "mm");
        yield return R("rain_rate", t, Math.Round(rainRate, 1), "mm/h");
    }

    private Reading R(string metric, long t, double value, string unit) => new(new SeriesKey(Device, metric), t, value, unit);
}
