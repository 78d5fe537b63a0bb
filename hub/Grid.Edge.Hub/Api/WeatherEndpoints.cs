using Grid.Edge.Hub.Derived;
using Grid.Edge.Hub.Intelligence.Weather;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Api;

internal sealed record WeatherNowResponse(
    string Device,
    ForecastNow? Forecast,
    TendencyNow? Tendency,
    double? DewPoint,
    double? HeatIndex,
    double? WindChill,
    double? SeaLevelPressure,
    double? RainRate,
    string? RainIntensity,
    RainTotalsAt? Rain,
    string? WindFrom,
    WindNow? Wind);

/// <summary>10-minute wind figures: mean speed, vector mean direction with its compass point, strongest gust, Beaufort force.</summary>
internal sealed record WindNow(double? MeanSpeed, double? MeanDirection, string? MeanFrom, double? GustMax, int? Beaufort);

internal sealed record ForecastNow(int Number, string Text, long T);

internal sealed record TendencyNow(double HpaPer3h, string Text, int Level, long T);

/// <summary>The derived weather of a station in words: forecast text, pressure tendency class, intensity, compass.</summary>
internal static class WeatherEndpoints
{
    // Derived values older than this are not "now" (the station stopped reporting).
    private static readonly long FreshMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;

    public static void Map(WebApplication app)
    {
        app.MapGet("/api/weather/{device}/now", async (string device, ITimeSeriesStore store, RainTotals rainTotals, TimeProvider time, CancellationToken cancellationToken) =>
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                (double Value, long T)? Latest(string metric) =>
                    store.TryGetSeries(new SeriesKey(device, metric), out var info) && now - info.LatestMs <= FreshMs ? (info.LatestValue, info.LatestMs) : null;

                if (!store.ListSeries().Any(s => s.Key.Device == device))
                    return Results.NotFound(new ErrorResponse($"no series for device '{device}'"));
                var forecast = Latest("forecast") is { } f && f.Value is >= 1 and <= 32 ? new ForecastNow((int)f.Value, Zambretti.Text((int)f.Value), f.T) : null;
                var tendency = Latest("pressure_tendency") is { } p ? new TendencyNow(p.Value, Barometry.Describe(Barometry.Tendency(p.Value)), (int)Barometry.Tendency(p.Value), p.T) : null;
                var rainRate = Latest("rain_rate")?.Value;
                var rain = store.TryGetSeries(new SeriesKey(device, "rain"), out _) ? await rainTotals.AtAsync(device, now, cancellationToken) : null;
                var meanSpeed = Latest("wind_speed_mean")?.Value;
                var meanDirection = Latest("wind_direction_mean")?.Value;
                var gustMax = Latest("wind_gust_max")?.Value;
                var wind = meanSpeed is null && meanDirection is null && gustMax is null
                    ? null
                    : new WindNow(meanSpeed, meanDirection, meanDirection is { } md ? Wind.Compass(md) : null, gustMax, meanSpeed is { } ms ? Wind.Beaufort(ms) : null);
                return Results.Ok(new WeatherNowResponse(
                    device,
                    forecast,
                    tendency,
                    Latest("dew_point")?.Value,
                    Latest("heat_index")?.Value,
                    Latest("wind_chill")?.Value,
                    Latest("sea_level_pressure")?.Value,
                    rainRate,
                    rainRate is { } rate ? RainCounter.Intensity(rate) : null,
                    rain,
                    Latest("wind_direction") is { } d ? Wind.Compass(d.Value) : null,
                    wind));
            })
            .Produces<WeatherNowResponse>()
            .WithSummary("A station's derived weather now: Zambretti forecast text, pressure tendency, dew point, heat index, wind chill, sea-level pressure, rain rate and intensity, rain totals (last hour, 24 h, today, since reset), 10-minute wind means.");

        app.MapPost("/api/weather/{device}/rain/reset", async (string device, ITimeSeriesStore store, RainTotals rainTotals, TimeProvider time, CancellationToken cancellationToken) =>
            {
                if (!store.TryGetSeries(new SeriesKey(device, "rain"), out _))
                    return Results.NotFound(new ErrorResponse($"'{device}' has no rain series to reset"));
                rainTotals.Reset(device);
                return Results.Ok(await rainTotals.AtAsync(device, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken));
            })
            .Produces<RainTotalsAt>()
            .Produces<ErrorResponse>(StatusCodes.Status404NotFound)
            .WithSummary("Starts a station's \"rain since reset\" total again from now (like the reset button of a rain gauge console).");
    }
}
