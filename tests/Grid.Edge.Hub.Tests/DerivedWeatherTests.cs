using Grid.Edge.Hub.Testing;
using System.Globalization;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Intelligence.Weather;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>Weather series the hub derives, over real MQTT, for live and backfilled readings alike.</summary>
public sealed class DerivedWeatherTests : IAsyncLifetime
{
    private InProcessHub _hub = null!;

    public async Task InitializeAsync() =>
        _hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:Stations:roof:AltitudeM"] = "540" });

    public Task DisposeAsync() => _hub.DisposeAsync().AsTask();

    private async Task<List<double[]>> PointsAsync(string series, long from, int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var response = await _hub.Http.GetAsync($"/api/series/{series}/points?from={from}&to=now");
            if (response.IsSuccessStatusCode)
            {
                var points = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<PointsResponse>(response.Content, Json.Options))!.Points.ToList();
                if (points.Count >= atLeast)
                    return points;
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{series} has fewer than {atLeast} points");
            await Task.Delay(50);
        }
    }

    private static string Batch(params (string Metric, double Value, long T)[] readings) =>
        "{\"readings\":[" + string.Join(',', readings.Select(r => string.Create(CultureInfo.InvariantCulture, $"{{\"m\":\"{r.Metric}\",\"v\":{r.Value},\"t\":{r.T}}}"))) + "]}";

    [Fact]
    public async Task Dew_point_heat_index_sea_level_pressure_tendency_and_forecast_are_derived_at_the_readings_times()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        // Backfilled: three hours and one minute ago, then now.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000;
        var earlier = now - (3 * 3_600_000) - 60_000;
        Assert.True((await client.PublishAsync("grid/roof/batch", Batch(("temperature", 14, earlier), ("humidity", 70, earlier), ("pressure", 950, earlier)))).IsSuccess);
        Assert.True((await client.PublishAsync("grid/roof/batch", Batch(("temperature", 30, now), ("humidity", 60, now), ("pressure", 947.5, now)))).IsSuccess);

        var dew = await PointsAsync("roof/dew_point", earlier, 2);
        Assert.Equal([earlier, now], dew.Select(p => (long)p[0]));
        Assert.Equal(Math.Round(Psychrometrics.DewPoint(14, 70)!.Value, 2), dew[0][1]);
        Assert.Equal(Math.Round(Psychrometrics.DewPoint(30, 60)!.Value, 2), dew[1][1]);

        var heat = await PointsAsync("roof/heat_index", earlier, 1);
        Assert.Equal(now, (long)Assert.Single(heat)[0]); // only at 30 degC, not at 14
        Assert.Equal(Math.Round(Psychrometrics.HeatIndex(30, 60), 2), heat[0][1]);

        var seaLevel = await PointsAsync("roof/sea_level_pressure", earlier, 2);
        Assert.Equal(Math.Round(Barometry.SeaLevelPressure(947.5, 540, 30), 2), seaLevel[1][1]);

        var tendency = await PointsAsync("roof/pressure_tendency", now, 1);
        Assert.Equal(-2.5, Assert.Single(tendency)[1]);
        var forecast = await PointsAsync("roof/forecast", now, 1);
        Assert.Equal(Zambretti.Forecast(Math.Round(Barometry.SeaLevelPressure(947.5, 540, 30), 2), -2.5), Assert.Single(forecast)[1]);
        Assert.Empty(_hub.Logs.Errors);
    }

    [Fact]
    public async Task Wind_chill_from_separate_messages_and_rain_rate_over_ten_minutes()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        Assert.True((await client.PublishAsync("grid/yard/temperature", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":-10,\"t\":{t}}}"))).IsSuccess);
        Assert.True((await client.PublishAsync("grid/yard/wind_speed", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":{20 / 3.6},\"t\":{t + 30_000}}}"))).IsSuccess);
        var chill = await PointsAsync("yard/wind_chill", t, 1);
        Assert.Equal(Math.Round(Psychrometrics.WindChill(-10, 20 / 3.6), 2), Assert.Single(chill)[1]);

        Assert.True((await client.PublishAsync("grid/yard/batch", Batch(("rain", 0.2794, t + 60_000), ("rain", 0.2794, t + 120_000), ("rain", 0.5588, t + 300_000)))).IsSuccess);
        var rate = await PointsAsync("yard/rain_rate", t, 3);
        Assert.Equal(Math.Round(RainCounter.RateFromWindow(0.2794 * 4, TimeSpan.FromMinutes(10)), 2), rate[2][1]);
    }

    [Fact]
    public async Task Wind_chill_comes_out_the_same_when_the_temperature_arrives_after_the_wind()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        Assert.True((await client.PublishAsync("grid/porch/wind_speed", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":{20 / 3.6},\"t\":{t + 30_000}}}"))).IsSuccess);
        Assert.True((await client.PublishAsync("grid/porch/temperature", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":-10,\"t\":{t}}}"))).IsSuccess);
        var chill = Assert.Single(await PointsAsync("porch/wind_chill", t, 1));
        Assert.Equal([t + 30_000, Math.Round(Psychrometrics.WindChill(-10, 20 / 3.6), 2)], chill);
    }

    private async Task<WeatherNowResponse> NowAsync(string device) => (await _hub.GetAsync<WeatherNowResponse>($"/api/weather/{device}/now"))!;

    [Fact]
    public async Task A_cumulative_rain_counter_becomes_rain_through_resets_and_an_implausible_jump_is_not_rain()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        // 100.0 -> +0.2794 -> +0.2794 -> counter reset to 0.2794 (+0.2794) -> jump of 500 mm (refused) -> +0.2794.
        Assert.True((await client.PublishAsync("grid/gauge/batch", Batch(("rain_total", 100, t), ("rain_total", 100.2794, t + 60_000), ("rain_total", 100.5588, t + 120_000)))).IsSuccess);
        Assert.True((await client.PublishAsync("grid/gauge/batch", Batch(("rain_total", 0.2794, t + 180_000), ("rain_total", 500.2794, t + 240_000), ("rain_total", 500.5588, t + 300_000)))).IsSuccess);
        var rain = await PointsAsync("gauge/rain", t, 4);
        Assert.Equal([t + 60_000, t + 120_000, t + 180_000, t + 300_000], rain.Select(p => (long)p[0]));
        Assert.All(rain, p => Assert.Equal(0.2794, p[1]));
        var sinceReset = await PointsAsync("gauge/rain_since_reset", t, 4);
        Assert.Equal(Math.Round(4 * 0.2794, 4), sinceReset[^1][1]);
        Assert.Equal(Math.Round(4 * 0.2794, 4), (await NowAsync("gauge")).Rain!.LastHour);
        Assert.Equal(1, (await _hub.GetAsync<HealthResponse>("/api/health"))!.Derived.ImplausibleRainSteps);
    }

    [Fact]
    public async Task Rain_totals_for_the_last_hour_day_and_since_a_reset_are_series_and_in_the_api()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000;
        (string, double, long)[] rain = [("rain", 2, now - (25 * 3_600_000)), ("rain", 1, now - (2 * 3_600_000)), ("rain", 0.5, now - 1_800_000), ("rain", 0.3, now)];
        Assert.True((await client.PublishAsync("grid/field/batch", Batch(rain))).IsSuccess);
        var midnight = new DateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(now).ToLocalTime().Date, TimeZoneInfo.Local.GetUtcOffset(DateTimeOffset.FromUnixTimeMilliseconds(now).ToLocalTime().Date)).ToUnixTimeMilliseconds();
        var today = rain.Where(r => r.Item3 >= midnight).Sum(r => r.Item2);

        Assert.Equal(0.8, (await PointsAsync("field/rain_last_hour", now, 1))[^1][1]);
        Assert.Equal(1.8, (await PointsAsync("field/rain_last_24h", now, 1))[^1][1]);
        Assert.Equal(Math.Round(today, 4), (await PointsAsync("field/rain_today", now, 1))[^1][1]);
        Assert.Equal(3.8, (await PointsAsync("field/rain_since_reset", now, 1))[^1][1]);
        var totals = (await NowAsync("field")).Rain!;
        Assert.Equal((0.8, 1.8, 3.8), (totals.LastHour, totals.Last24Hours, totals.SinceReset));
        Assert.Null(totals.ResetAtMs);

        using (var reset = await _hub.Http.PostAsync("/api/weather/field/rain/reset", null))
        {
            Assert.True(reset.IsSuccessStatusCode);
            Assert.Equal(0, (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<Derived.RainTotalsAt>(reset.Content, Json.Options))!.SinceReset);
        }

        using (var unknown = await _hub.Http.PostAsync("/api/weather/nowhere/rain/reset", null))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        var later = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True((await client.PublishAsync("grid/field/rain", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":0.2,\"t\":{later}}}"))).IsSuccess);
        Assert.Equal(0.2, (await PointsAsync("field/rain_since_reset", later, 1))[^1][1]);
        Assert.NotNull((await NowAsync("field")).Rain!.ResetAtMs);
    }

    [Fact]
    public async Task Wind_means_over_ten_minutes_weight_directions_by_speed_and_keep_the_strongest_gust()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 300_000;
        Assert.True((await client.PublishAsync("grid/mast/batch", Batch(
            ("wind_speed", 2, t), ("wind_direction", 350, t),
            ("wind_speed", 4, t + 60_000), ("wind_direction", 10, t + 60_000), ("wind_gust", 9, t + 60_000),
            ("wind_speed", 6, t + 120_000), ("wind_direction", 20, t + 120_000)))).IsSuccess);
        var expected = Math.Round(Wind.MeanDirection([(350, 2), (10, 4), (20, 6)])!.Value, 0);
        Assert.Equal(expected, (await PointsAsync("mast/wind_direction_mean", t + 120_000, 1))[^1][1]);
        Assert.Equal(4, (await PointsAsync("mast/wind_speed_mean", t + 120_000, 1))[^1][1]);
        Assert.Equal(9, (await PointsAsync("mast/wind_gust_max", t + 120_000, 1))[^1][1]);
        var wind = (await NowAsync("mast")).Wind!;
        Assert.Equal(Wind.Compass(expected), wind.MeanFrom);
        Assert.Equal(3, wind.Beaufort);
    }
}
