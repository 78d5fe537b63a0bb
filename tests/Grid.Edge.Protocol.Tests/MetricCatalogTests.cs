using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Protocol.Tests;

public class MetricCatalogTests
{
    [Theory]
    [InlineData("temperature", 212.0, "degF", 100.0)]
    [InlineData("temperature", 32.0, "degF", 0.0)]
    [InlineData("temperature", 273.15, "K", 0.0)]
    [InlineData("pressure", 29.92, "inHg", 1013.2075)]
    [InlineData("pressure", 101325.0, "Pa", 1013.25)]
    [InlineData("pressure", 101.325, "kPa", 1013.25)]
    [InlineData("speed", 60.0, "mph", 96.5606)]
    [InlineData("wind_speed", 36.0, "km/h", 10.0)]
    [InlineData("wind_speed", 1.0, "kn", 0.5144)]
    [InlineData("rain", 1.0, "in", 25.4)]
    [InlineData("battery_voltage", 12600.0, "mV", 12.6)]
    [InlineData("odometer", 100.0, "mi", 160.9344)]
    [InlineData("humidity", 55.5, "%", 55.5)]
    public void Converts_known_units_to_the_canonical_one(string metric, double value, string unit, double expected)
    {
        Assert.True(MetricCatalog.TryGet(metric, out var definition));
        Assert.True(definition.TryConvert(value, UnitNames.Normalize(unit), out var canonical));
        Assert.Equal(expected, canonical, 4);
    }

    [Fact]
    public void Refuses_units_it_cannot_convert()
    {
        Assert.True(MetricCatalog.TryGet("temperature", out var definition));
        Assert.False(definition.TryConvert(1, "hPa", out _));
        Assert.False(definition.TryConvert(1, "furlong", out _));
    }

    [Theory]
    [InlineData("°C", "degC")]
    [InlineData(" C ", "degC")]
    [InlineData("Fahrenheit", "degF")]
    [InlineData("mbar", "hPa")]
    [InlineData("kph", "km/h")]
    [InlineData("knots", "kn")]
    [InlineData("lx", "lux")]
    [InlineData("widgets", "widgets")]
    public void Normalizes_unit_spellings(string unit, string expected) => Assert.Equal(expected, UnitNames.Normalize(unit));

    [Fact]
    public void Every_known_metric_has_a_canonical_unit_from_the_design_or_none()
    {
        string[] allowed = ["degC", "%", "hPa", "m/s", "deg", "mm", "mm/h", "km/h", "km", "rpm", "V", "L/h", "g/s", "kPa", "lux", "s", "h", "m", "dBm", ""]; // h: engine hours, as hour meters and service schedules count them
        foreach (var metric in MetricCatalog.All)
        {
            Assert.Contains(metric.Unit, allowed);
            Assert.True(metric.Min < metric.Max, metric.Name);
            foreach (var conversion in metric.Conversions)
                Assert.Equal(metric.Unit, conversion.ToUnit);
        }
    }
}
