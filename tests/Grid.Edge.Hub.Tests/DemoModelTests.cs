using Grid.Edge.Demo;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Hub.Tests;

/// <summary>The demo devices must look real and never send what the hub would refuse.</summary>
public class DemoModelTests
{
    private const long Day = 86_400_000;
    private static readonly long Start = DateTimeOffset.Parse("2026-11-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    [Fact]
    public void A_week_of_weather_is_plausible_and_varied()
    {
        var station = new WeatherStationModel("ws");
        var readings = Enumerable.Range(0, 7 * 24 * 60).SelectMany(i => station.ReadingsAt(Start + i * 60_000L, 60_000)).ToList();
        foreach (var reading in readings)
        {
            Assert.True(MetricCatalog.TryGet(reading.Series.Metric, out var metric), reading.Series.Metric);
            Assert.Equal(metric.Unit, reading.Unit);
            Assert.InRange(reading.Value, metric.Min, metric.Max);
        }

        double Spread(string metric) { var v = readings.Where(r => r.Series.Metric == metric).Select(r => r.Value).ToList(); return v.Max() - v.Min(); }
        Assert.InRange(Spread("temperature"), 8, 40); // a diurnal cycle
        Assert.InRange(Spread("pressure"), 5, 60); // passing fronts
        Assert.True(readings.Where(r => r.Series.Metric == "rain").Sum(r => r.Value) > 1, "it rains sometimes");
        Assert.Contains(readings, r => r.Series.Metric == "rain" && r.Value == 0);
    }

    [Fact]
    public void The_van_drives_warms_up_charges_and_rests()
    {
        var van = new VehicleModel("van");
        var trips = VehicleModel.TripsOn(Start).ToList();
        Assert.InRange(trips.Count, 2, 3);
        var (start, length) = trips[0];
        var drive = Enumerable.Range(0, (int)(length / 10_000)).SelectMany(i => van.ReadingsAt(start + i * 10_000L, start, length, 8)).ToList();
        foreach (var reading in drive)
        {
            Assert.True(MetricCatalog.TryGet(reading.Series.Metric, out var metric));
            Assert.InRange(reading.Value, metric.Min, metric.Max);
        }

        var speeds = drive.Where(r => r.Series.Metric == "speed").Select(r => r.Value).ToList();
        Assert.True(speeds.Max() > 50 && speeds.Min() == 0, "drives and stops");
        var coolant = drive.Where(r => r.Series.Metric == "coolant_temp").Select(r => r.Value).ToList();
        Assert.True(coolant[0] < 30 && coolant[^1] > 75, "the engine warms up");
        Assert.All(drive.Where(r => r.Series.Metric == "battery_voltage").Skip(3), r => Assert.InRange(r.Value, 13.8, 14.5));
        Assert.InRange(van.RestingBattery(start + length + 3_600_000, 3_600_000).Value, 12.5, 12.8);
    }

    [Fact]
    public void The_same_time_always_gives_the_same_readings()
    {
        var a = new WeatherStationModel("ws").ReadingsAt(Start + 12_345_678, 60_000).ToList();
        var b = new WeatherStationModel("ws").ReadingsAt(Start + 12_345_678, 60_000).ToList();
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData(0x0133, "P0133")]
    [InlineData(0x4123, "C0123")]
    [InlineData(0x8003, "B0003")]
    [InlineData(0xD234, "U1234")]
    [InlineData(0x2ABC, "P2ABC")]
    public void Trouble_codes_fit_the_dtc_metric(int code, string _)
    {
        Assert.True(MetricCatalog.TryGet("dtc", out var metric));
        Assert.InRange(code, metric.Min, metric.Max);
        var decoded = new ReadingDecoder().Decode("grid/van/dtc", System.Text.Encoding.UTF8.GetBytes(code.ToString(System.Globalization.CultureInfo.InvariantCulture)), Start + Day);
        Assert.Equal(code, Assert.Single(decoded.Readings).Value);
    }
}
