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
}
