using Grid.Edge.Hub.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Firmware.Core.Station;
using Grid.Edge.Firmware.Core.Tests.Simulated;
using Grid.Edge.Hub.Api;

namespace Grid.Edge.Firmware.Core.Tests;

public sealed class WeatherStationTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static List<JsonElement> ReadingsOf(CapturingLink link) =>
        link.Payloads.SelectMany(p => JsonDocument.Parse(p).RootElement.GetProperty("readings").EnumerateArray()).ToList();

    [Fact]
    public void Each_sample_buffers_every_sensor_and_publishes_after_the_configured_count()
    {
        var link = new CapturingLink();
        var rig = new StationRig(Now - 86_400_000, 4096, link);
        rig.Anemometer.PerSecond = [3, 6, 9];
        rig.Wake();
        Assert.Equal(0, link.Published);
        Assert.Equal(8, rig.Last.Ring.Count); // temperature, pressure, humidity, rain, rain_total, wind_speed, wind_gust, supply_voltage
        rig.Wake();
        rig.Wake();
        Assert.Equal(PublishOutcome.Sent, rig.Last.LastPublish);
        Assert.Equal(0, rig.Last.Ring.Count);

        var readings = ReadingsOf(link);
        Assert.Equal((3 * 8) + 2, readings.Count); // plus rssi and dropped_readings
        var first = readings.Where(r => r.GetProperty("t").GetInt64() == rig.SampleTimes[0]).ToDictionary(r => r.GetProperty("m").GetString()!, r => r.GetProperty("v").GetDouble());
        Assert.Equal(25.08, first["temperature"]);
        Assert.Equal(1006.53, first["pressure"]);
        Assert.Equal(41.25, first["humidity"]); // 42245 / 1024 = 41.2549
        Assert.Equal(0, first["rain"]);
        Assert.Equal(Math.Round(18 * 0.667 / 3, 2), first["wind_speed"]);
        Assert.Equal(Math.Round(18 * 0.667 / 3, 2), first["wind_gust"]);
        Assert.Equal(3.9, first["supply_voltage"]);
        Assert.Contains(readings, r => r.GetProperty("m").GetString() == "rssi" && r.GetProperty("v").GetDouble() == -67);
        Assert.Contains(readings, r => r.GetProperty("m").GetString() == "dropped_readings" && r.GetProperty("v").GetDouble() == 0);
        Assert.Equal(rig.SampleTimes, readings.Where(r => r.GetProperty("m").GetString() == "temperature").Select(r => r.GetProperty("t").GetInt64()));
    }

    [Fact]
    public void Rain_tips_survive_deep_sleep_and_contact_bounce_is_ignored()
    {
        var link = new CapturingLink();
        var rig = new StationRig(Now - 86_400_000, 4096, link);
        rig.Wake();
        var tipWake = rig.TipWake(60_000, bounces: 3);
        Assert.False(tipWake.SampledLastRun);
        for (var i = 0; i < 4; i++)
            Assert.False(rig.TipWake(30_000, bounces: 2).SampledLastRun);
        rig.Wake();
        rig.Wake();

        var rain = ReadingsOf(link).Where(r => r.GetProperty("m").GetString() == "rain").Select(r => r.GetProperty("v").GetDouble()).ToList();
        var total = ReadingsOf(link).Where(r => r.GetProperty("m").GetString() == "rain_total").Select(r => r.GetProperty("v").GetDouble()).ToList();
        Assert.Equal([0, Math.Round(5 * 0.2794, 4), 0], rain);
        Assert.Equal([0, Math.Round(5 * 0.2794, 4), Math.Round(5 * 0.2794, 4)], total);
    }

    [Fact]
    public void Readings_taken_before_the_clock_is_set_are_dated_when_it_is()
    {
        var link = new CapturingLink();
        var rig = new StationRig(Now - 86_400_000, 4096, link, clockSet: false);
        rig.Network.Available = false;
        for (var i = 0; i < 4; i++)
            rig.Wake();
        Assert.Equal(0, link.Published);
        Assert.False(rig.Clock.IsSynchronized);
        rig.Network.Available = true;
        while (link.Published == 0)
            rig.Wake();

        var temperatureTimes = ReadingsOf(link).Where(r => r.GetProperty("m").GetString() == "temperature").Select(r => r.GetProperty("t").GetInt64()).ToList();
        Assert.Equal(rig.SampleTimes, temperatureTimes);
        Assert.True(rig.Clock.IsSynchronized);
    }

    [Fact]
    public void Readings_of_a_power_on_that_never_got_the_time_are_dropped_and_counted()
    {
        var link = new CapturingLink();
        var rig = new StationRig(Now - 86_400_000, 4096, link, clockSet: false);
        rig.Network.Available = false;
        rig.Wake();
        rig.Wake();
        rig.PowerCycle();
        rig.Wake();
        rig.Network.Available = true;
        while (link.Published == 0)
            rig.Wake();
        while (rig.Last.Ring.Count > 0)
            rig.Wake();

        var readings = ReadingsOf(link);
        var times = readings.Where(r => r.GetProperty("m").GetString() == "temperature").Select(r => r.GetProperty("t").GetInt64()).ToList();
        Assert.Equal(rig.SampleTimes.Skip(2), times);
        Assert.Equal(16, rig.Last.DroppedReadings);
        Assert.Contains(readings, r => r.GetProperty("m").GetString() == "dropped_readings" && r.GetProperty("v").GetDouble() == 16);
    }

    [Fact]
    public void Nothing_is_released_without_an_acknowledgement_and_retries_back_off()
    {
        var link = new CapturingLink { Acknowledge = false };
        var rig = new StationRig(Now - (3 * 86_400_000L), 4096, link);
        for (var i = 0; i < 3; i++)
            rig.Wake();
        Assert.Equal(PublishOutcome.NotAcknowledged, rig.Last.LastPublish);
        Assert.True(rig.Last.Ring.Count >= 24);

        rig.Network.Available = false;
        var attemptsBefore = rig.Network.Attempts;
        for (var i = 0; i < 60; i++)
            rig.Wake();
        // 60 wakes 10 min apart: with doubling waits capped at 1 h, about 12 attempts instead of 60.
        Assert.InRange(rig.Network.Attempts - attemptsBefore, 8, 14);
        Assert.Equal(63 * 8, rig.Last.Ring.Count - 1); // every sample still there, plus the rssi of the unacknowledged attempt

        rig.Network.Available = true;
        link.Acknowledge = true;
        for (var i = 0; i < 12 && rig.Last.Ring.Count > 0; i++)
            rig.Wake();
        Assert.Equal(0, rig.Last.Ring.Count);
        var times = ReadingsOf(link).Where(r => r.GetProperty("m").GetString() == "temperature").Select(r => r.GetProperty("t").GetInt64()).Distinct().ToList();
        Assert.Equal(rig.SampleTimes, times);
    }

    [Fact]
    public async Task A_week_long_outage_with_a_power_cut_reaches_a_real_hub_with_original_timestamps()
    {
        await using var hub = await InProcessHub.StartAsync();
        using var link = new HubLink(hub.Mqtt, "roof-station");
        var start = Now - (8 * 86_400_000L);
        var rig = new StationRig(start, 12_000, link);
        for (var i = 0; i < 3; i++)
            rig.Wake();
        Assert.Equal(PublishOutcome.Sent, rig.Last.LastPublish);

        // Wi-Fi works, the hub does not: a week of samples every 10 minutes, with the supply failing half way.
        link.HubUp = false;
        var outageEnds = rig.Clock.TrueUtc + (7 * 86_400_000L);
        var powerCutAt = rig.Clock.TrueUtc + (3 * 86_400_000L) + 3_600_000;
        var cut = false;
        rig.Clock.ServerReachable = false;
        while (rig.Clock.TrueUtc < outageEnds)
        {
            if (!cut && rig.Clock.TrueUtc >= powerCutAt)
            {
                rig.PowerCycle();
                cut = true;
            }

            rig.Wake();
        }

        Assert.True(rig.Last.Ring.Count >= 7 * 144 * 8, $"{rig.Last.Ring.Count} readings buffered");
        Assert.Equal(0u, rig.Last.Ring.Overwritten);

        link.HubUp = true;
        rig.Clock.ServerReachable = true;
        for (var i = 0; i < 20 && rig.Last.Ring.Count > 0; i++)
            rig.Wake();
        Assert.Equal(0, rig.Last.Ring.Count);
        Assert.Equal(0, rig.Last.DroppedReadings);

        foreach (var metric in new[] { "temperature", "pressure", "humidity", "rain_total", "wind_speed", "wind_gust", "supply_voltage" })
        {
            var points = await hub.Http.GetFromJsonAsync<PointsResponse>($"/api/series/roof-station/{metric}/points?from={start}&to=now&limit=1000000", Json.Options);
            Assert.NotNull(points);
            Assert.Equal(rig.SampleTimes, points.Points.Select(p => (long)p[0]));
        }

        var temperatures = await hub.Http.GetFromJsonAsync<PointsResponse>($"/api/series/roof-station/temperature/points?from={start}&to=now&limit=1000000", Json.Options);
        Assert.All(temperatures!.Points, p => Assert.Equal(25.08, p[1]));
        Assert.Empty(hub.Logs.Errors);
    }
}
