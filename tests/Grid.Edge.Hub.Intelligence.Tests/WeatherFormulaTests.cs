using CsCheck;
using Grid.Edge.Hub.Intelligence.Weather;

namespace Grid.Edge.Hub.Intelligence.Tests;

/// <summary>Every vector of shared reference weather.md sections 1-7.</summary>
public sealed class WeatherFormulaTests
{
    [Theory]
    [InlineData(25, 60, 16.69, 16.70, 16.68)]
    [InlineData(20, 50, 9.26, 9.26, 9.25)]
    [InlineData(30, 80, 26.17, 26.17, 26.16)]
    [InlineData(0, 90, -1.45, -1.44, -1.44)]
    [InlineData(-5, 80, -7.92, -7.92, -7.91)]
    public void Dew_point_matches_each_Magnus_constant_set(double t, double rh, double sonntag, double alduchov, double classic)
    {
        Assert.Equal(sonntag, Math.Round(Psychrometrics.DewPoint(t, rh)!.Value, 2));
        Assert.Equal(alduchov, Math.Round(Psychrometrics.DewPoint(t, rh, 17.625, 243.04)!.Value, 2));
        Assert.Equal(classic, Math.Round(Psychrometrics.DewPoint(t, rh, 17.27, 237.7)!.Value, 2));
    }

    [Fact]
    public void Dew_point_of_the_Tasmota_example_and_impossible_humidity()
    {
        Assert.Equal(8.93, Math.Round(Psychrometrics.DewPoint(21.3, 45.2, 17.62, 243.5)!.Value, 2));
        Assert.Equal(8.95, Math.Round(Psychrometrics.DewPoint(21.3, 45.2)!.Value, 2));
        Assert.Null(Psychrometrics.DewPoint(20, 0));
        Assert.Null(Psychrometrics.DewPoint(20, -3));
        Assert.Null(Psychrometrics.DewPoint(20, 101));
    }

    [Theory]
    [InlineData(90, 70, 105.92)]
    [InlineData(96, 65, 121.03)]
    [InlineData(104, 55, 137.36)]
    [InlineData(85, 90, 101.78)]
    [InlineData(100, 10, 94.12)]
    [InlineData(80, 40, 79.58)]
    [InlineData(75, 50, 74.55)]
    public void Heat_index_matches_the_NWS_vectors(double fahrenheit, double rh, double expectedFahrenheit)
    {
        var celsius = (fahrenheit - 32) * 5 / 9;
        var hi = Psychrometrics.HeatIndex(celsius, rh);
        Assert.Equal(expectedFahrenheit, Math.Round((hi * 9 / 5) + 32, 2));
    }

    [Theory]
    [InlineData(0, 15, -19.40)]
    [InlineData(-10, 30, -39.45)]
    [InlineData(32, 10, 23.73)]
    public void Wind_chill_imperial(double t, double mph, double expected) =>
        Assert.Equal(expected, Math.Round(Psychrometrics.WindChillFahrenheit(t, mph), 2));

    [Theory]
    [InlineData(-10, 20, -17.86)]
    [InlineData(0, 30, -6.47)]
    [InlineData(-20, 40, -34.13)]
    [InlineData(5, 10, 2.66)]
    [InlineData(15, 30, 15)]  // too warm: the air temperature
    [InlineData(-5, 4, -5)]   // too calm
    public void Wind_chill_metric(double t, double kmh, double expected) =>
        Assert.Equal(expected, Math.Round(Psychrometrics.WindChill(t, kmh / 3.6), 2));

    [Theory]
    [InlineData(950.0, 540, 15.0, 1013.20, 1012.43)]
    [InlineData(1000.0, 100, 20.0, 1011.94, 1011.71)]
    [InlineData(900.0, 1000, 5.0, 1014.65, 1016.21)]
    public void Sea_level_pressure_by_both_formulas(double p, double h, double t, double isa, double corrected)
    {
        Assert.Equal(isa, Math.Round(Barometry.SeaLevelPressure(p, h), 2));
        Assert.Equal(corrected, Math.Round(Barometry.SeaLevelPressure(p, h, t), 2));
    }

    [Fact]
    public void Altitude_from_pressure() => Assert.Equal(540.4, Math.Round(Barometry.Altitude(950, 1013.25), 1));

    [Theory]
    [InlineData(0.05, PressureTendency.Steady)]
    [InlineData(-0.05, PressureTendency.Steady)]
    [InlineData(1.2, PressureTendency.RisingSlowly)]
    [InlineData(-1.5, PressureTendency.FallingSlowly)]
    [InlineData(2.0, PressureTendency.Rising)]
    [InlineData(-3.5, PressureTendency.Falling)]
    [InlineData(-4.0, PressureTendency.FallingQuickly)]
    [InlineData(6.0, PressureTendency.RisingQuickly)]
    [InlineData(-6.5, PressureTendency.FallingVeryRapidly)]
    public void Pressure_tendency_classes(double change, PressureTendency expected)
    {
        Assert.Equal(expected, Barometry.Tendency(change));
        Assert.Contains(change < 0 && expected != PressureTendency.Steady ? "falling" : expected == PressureTendency.Steady ? "steady" : "rising", Barometry.Describe(expected), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1030, -2, 3, "Fine, becoming less settled")]
    [InlineData(1030, 0, 10, "Settled fine")]
    [InlineData(1030, 2, 20, "Settled fine")]
    [InlineData(1013.25, -2, 5, "Showery, becoming more unsettled")]
    [InlineData(1013.25, 0, 12, "Fine, possibly showers")]
    [InlineData(1013.25, 2, 23, "Fairly fine, improving")]
    [InlineData(1000, -2, 7, "Rain at times, worse later")]
    [InlineData(1000, 0, 14, "Showery, bright intervals")]
    [InlineData(1000, 2, 25, "Showery early, improving")]
    [InlineData(985, -2, 9, "Very unsettled, rain")]
    [InlineData(985, 0, 16, "Unsettled, rain at times")]
    [InlineData(985, 2, 27, "Rather unsettled, clearing later")]
    public void Zambretti_reproduces_the_reference_table(double seaLevel, double change3h, int number, string text)
    {
        Assert.Equal(number, Zambretti.Forecast(seaLevel, change3h));
        Assert.Equal(text, Zambretti.Text(number));
    }

    [Fact]
    public void Zambretti_stays_in_its_ranges_for_any_input()
    {
        Gen.Select(Gen.Double[800, 1200], Gen.Double[-20, 20]).Sample((p, change) =>
        {
            var z = Zambretti.Forecast(p, change);
            Assert.InRange(z, change <= -1.6 ? 1 : change >= 1.6 ? 20 : 10, change <= -1.6 ? 9 : change >= 1.6 ? 32 : 19);
            Assert.False(string.IsNullOrEmpty(Zambretti.Text(z)));
        });
    }

    [Fact]
    public void Wind_directions_average_as_vectors()
    {
        Assert.Equal(0, Math.Round(Wind.MeanDirection([(350, 1), (10, 1)])!.Value, 2) % 360);
        Assert.Equal(135, Math.Round(Wind.MeanDirection([(90, 1), (180, 1)])!.Value, 2));
        Assert.Equal(356.53, Math.Round(Wind.MeanDirection([(340, 1), (350, 1), (20, 1)])!.Value, 2));
        Assert.Null(Wind.MeanDirection([(90, 1), (270, 1)]));
        Assert.Null(Wind.MeanDirection([]));
    }

    [Theory]
    [InlineData(0, "N")]
    [InlineData(11.24, "N")]
    [InlineData(11.25, "NNE")]
    [InlineData(90, "E")]
    [InlineData(202.5, "SSW")]
    [InlineData(348.75, "N")]
    [InlineData(359, "N")]
    [InlineData(-90, "W")]
    public void Compass_points(double degrees, string name) => Assert.Equal(name, Wind.Compass(degrees));

    [Theory]
    [InlineData(0.2, 0)]
    [InlineData(0.5, 1)]
    [InlineData(3.3, 2)]
    [InlineData(3.4, 3)]
    [InlineData(17.2, 8)]
    [InlineData(24.5, 10)]
    [InlineData(32.7, 12)]
    public void Beaufort_scale(double speed, int force) => Assert.Equal(force, Wind.Beaufort(speed));

    [Fact]
    public void A_rain_counter_becomes_increments_through_resets_wraps_and_jumps()
    {
        var counter = new RainCounter();
        Assert.Equal(0, counter.Add(76.454, out var first));
        Assert.Equal(RainCounter.Outcome.First, first);
        Assert.Equal(0.508, Math.Round(counter.Add(76.962, out _), 3));
        Assert.Equal(0, counter.Add(76.962, out _)); // a repeated packet
        Assert.Equal(0.2, Math.Round(counter.Add(0.2, out var reset), 3)); // the gauge restarted
        Assert.Equal(RainCounter.Outcome.Reset, reset);
        Assert.Equal(0, counter.Add(180, out var jump));
        Assert.Equal(RainCounter.Outcome.Implausible, jump);

        // A 16-bit counter of 0.254 mm tips wraps at 65536 tips.
        var wrapping = new RainCounter(wrapMillimetres: 65536 * 0.254);
        wrapping.Add(65535 * 0.254, out _);
        Assert.Equal(0.508, Math.Round(wrapping.Add(0.254, out var wrapped), 3));
        Assert.Equal(RainCounter.Outcome.Wrapped, wrapped);
    }

    [Fact]
    public void Rain_rate_and_intensity()
    {
        Assert.Equal(3.3528, Math.Round(RainCounter.RateFromWindow(0.2794, TimeSpan.FromMinutes(5)), 4));
        Assert.Equal(10.0584, Math.Round(RainCounter.RateFromTips(0.2794, TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(30)), 4));
        Assert.Equal(0, RainCounter.RateFromTips(0.2794, TimeSpan.FromSeconds(100), TimeSpan.FromMinutes(16)));
        Assert.Equal("light", RainCounter.Intensity(1));
        Assert.Equal("moderate", RainCounter.Intensity(7.6));
        Assert.Equal("heavy", RainCounter.Intensity(8));
        Assert.Equal("violent", RainCounter.Intensity(60));
    }
}
