using Grid.Edge.Hub.Intelligence.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace Grid.Edge.Hub.Intelligence.Tests;

/// <summary>The built-in rules against the worked evaluations of shared reference maintenance.md section 7 and weather.md section 8.</summary>
public sealed class DefaultRuleTests
{
    /// <summary>Readings of <paramref name="values"/> every 10 s for <paramref name="duration"/>; the rules active at the end.</summary>
    private static List<string> Active(Dictionary<string, double> values, TimeSpan duration)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        var engine = new AlertEngine(DefaultAlertRules.All, time);
        for (var elapsed = TimeSpan.Zero; elapsed <= duration; elapsed += TimeSpan.FromSeconds(10))
        {
            var now = time.GetUtcNow();
            engine.Evaluate("van", name => values.TryGetValue(name, out var v) ? new Latest(v, now.ToUnixTimeMilliseconds()) : null, now);
            time.Advance(TimeSpan.FromSeconds(10));
        }

        return [.. engine.Active.Select(a => a.RuleId).Order(StringComparer.Ordinal)];
    }

    private static readonly Dictionary<string, double> Running = new() { ["engine_running"] = 1, ["rpm"] = 2000 };
    private static readonly Dictionary<string, double> Parked = new() { ["engine_running"] = 0 };

    private static Dictionary<string, double> With(Dictionary<string, double> baseline, params (string Metric, double Value)[] values)
    {
        var all = new Dictionary<string, double>(baseline);
        foreach (var (metric, value) in values)
            all[metric] = value;
        return all;
    }

    public static TheoryData<string, double[], int, string[]> Vectors => new()
    {
        // 41 01 83 07 FF 00: MIL on, 3 stored codes.
        { "mil,dtc_count", [1, 3], 60, ["mil-on", "trouble-code"] },
        // 41 05 A0 for 60 s with the engine running: 120 degC, critical (and the warning below it).
        { "coolant_temp", [120], 60, ["coolant-critical", "coolant-hot"] },
        // 41 05 96 for 60 s: 110 degC, warning only.
        { "coolant_temp", [110], 60, ["coolant-hot"] },
        // 41 05 82: 90 degC, normal.
        { "coolant_temp", [90], 600, [] },
        // ATRV 12.1 V, engine off 3 h: about 35-40 % charged, alert under 12.2 V.
        { "battery_voltage", [12.1], 3 * 3600, ["battery-low"] },
        // ATRV 11.8 V, engine off: critical under 11.9 V.
        { "battery_voltage", [11.8], 3 * 3600, ["battery-flat", "battery-low"] },
        // 41 07 80 / 41 06 7A: trims 0 % and -4.7 %, normal.
        { "ltft1,stft1,coolant_temp", [0, -4.7, 90], 600, [] },
        // 41 2F 1A: 10.2 % fuel, low-fuel warning.
        { "fuel_level", [10.2], 120, ["low-fuel"] },
        // 41 21 00 96: 150 km with the MIL on, repair overdue.
        { "distance_with_mil", [150], 60, ["mil-overdue"] },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Parked_or_state_independent_vectors(string metrics, double[] values, int seconds, string[] expected)
    {
        var readings = With(Parked, metrics.Split(',').Zip(values).ToArray());
        Assert.Equal(expected, Active(readings, TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Undercharging_for_three_minutes_and_overcharging_for_a_minute_alert_with_the_engine_running()
    {
        // ATRV 13.0 V, RPM 800 for 3 min: undercharge. ATRV 15.3 V, RPM 2000 for 60 s: overcharge.
        Assert.Equal(["not-charging"], Active(With(Running, ("battery_voltage", 13.0)), TimeSpan.FromMinutes(3)));
        Assert.Equal(["overcharging"], Active(With(Running, ("battery_voltage", 15.3)), TimeSpan.FromSeconds(60)));
        Assert.Empty(Active(With(Running, ("battery_voltage", 14.2)), TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void A_lean_bank_one_of_almost_thirty_percent_is_critical_at_once_and_a_warning_after_five_minutes()
    {
        // 41 07 9E (LTFT +23.4 %), 41 06 88 (STFT +6.25 %), coolant 90 degC: total +29.7 %.
        var lean = With(Running, ("ltft1", 23.4), ("stft1", 6.25), ("coolant_temp", 90));
        Assert.Equal(["fuel-trim-critical"], Active(lean, TimeSpan.FromSeconds(70)));
        Assert.Equal(["fuel-trim", "fuel-trim-critical"], Active(lean, TimeSpan.FromMinutes(6)));
        // Cold engine: open loop, trims say nothing.
        Assert.Empty(Active(With(lean, ("coolant_temp", 40)), TimeSpan.FromMinutes(6)));
        // 22 % total is out of range but short of where ECUs set P0171/P0174 (about 25 %): a warning, not critical.
        var trimmed = With(Running, ("ltft1", 12.0), ("stft1", 10.0), ("coolant_temp", 90));
        Assert.Empty(Active(trimmed, TimeSpan.FromSeconds(70)));
        Assert.Equal(["fuel-trim"], Active(trimmed, TimeSpan.FromMinutes(6)));
    }

    [Fact]
    public void Coolant_rising_fast_above_100_degC_and_a_thermostat_stuck_open()
    {
        Assert.Equal(["coolant-rising"], Active(With(Running, ("coolant_temp", 103), ("rate:coolant_temp:1", 6)), TimeSpan.FromSeconds(10)));
        Assert.Empty(Active(With(Running, ("coolant_temp", 95), ("rate:coolant_temp:1", 6)), TimeSpan.FromSeconds(10)));
        var cold = With(Running, ("coolant_temp", 62), ("run_time", 1200), ("speed", 80), ("ambient_temp", 8));
        Assert.Equal(["thermostat-open"], Active(cold, TimeSpan.FromMinutes(3)));
        Assert.Empty(Active(With(cold, ("run_time", 300)), TimeSpan.FromMinutes(3)));
    }

    [Fact]
    public void Every_default_rule_is_valid_and_rates_are_supplied_by_name()
    {
        Assert.All(DefaultAlertRules.All, rule => Assert.Empty(rule.Validate()));
        Assert.Equal(DefaultAlertRules.All.Count, DefaultAlertRules.All.Select(r => r.Id).Distinct().Count());
        Assert.Equal(["rate:coolant_temp:1"], new AlertEngine(DefaultAlertRules.All, TimeProvider.System).RateVariables);
        Assert.True(JsonLogic.TryParseRate("rate:coolant_temp:1", out var metric, out var minutes));
        Assert.Equal(("coolant_temp", 1.0), (metric, minutes));
        Assert.Contains("rate takes", JsonLogic.Validate(System.Text.Json.Nodes.JsonNode.Parse("""{"rate": ["coolant_temp", 0]}""")), StringComparison.Ordinal);
    }
}
