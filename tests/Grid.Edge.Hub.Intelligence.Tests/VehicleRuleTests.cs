using Grid.Edge.Hub.Intelligence.Vehicle;

namespace Grid.Edge.Hub.Intelligence.Tests;

/// <summary>The worked evaluations of shared reference maintenance.md section 7, and the rules behind them.</summary>
public sealed class VehicleRuleTests
{
    [Fact]
    public void Codes_get_descriptions_and_the_worst_family_decides()
    {
        Assert.Equal("System too lean (bank 1)", TroubleCodeCatalog.Describe("P0171"));
        Assert.Equal("Random/multiple cylinder misfire detected", TroubleCodeCatalog.Describe("P0300"));
        Assert.Equal("Lost communication with ECM/PCM", TroubleCodeCatalog.Describe("U0100"));
        Assert.Equal("Powertrain (generic): ignition system or misfire", TroubleCodeCatalog.Describe("P0399"));
        Assert.Equal("Powertrain (manufacturer-specific)", TroubleCodeCatalog.Describe("P1111"));
        // 43 02 01 71 03 00: P0171 (high), P0300 (critical) -> overall critical.
        Assert.Equal(CodeSeverity.High, TroubleCodeCatalog.Severity("P0171"));
        Assert.Equal(CodeSeverity.Critical, TroubleCodeCatalog.Severity("P0300"));
        Assert.Equal(CodeSeverity.Critical, new[] { "P0171", "P0300" }.Max(TroubleCodeCatalog.Severity));
        Assert.Equal(CodeSeverity.Critical, TroubleCodeCatalog.Severity("P0217"));
        Assert.Equal(CodeSeverity.Critical, TroubleCodeCatalog.Severity("P0524"));
        Assert.Equal(CodeSeverity.High, TroubleCodeCatalog.Severity("U0140"));
        Assert.Equal(CodeSeverity.Medium, TroubleCodeCatalog.Severity("P0420"));
        Assert.Equal(CodeSeverity.Low, TroubleCodeCatalog.Severity("P0455"));
    }

    [Theory]
    [InlineData(12.1, BatteryVerdict.Low, 37.5)]
    [InlineData(11.8, BatteryVerdict.Critical, 0)]
    [InlineData(12.3, BatteryVerdict.RechargeSoon, 62.5)]
    [InlineData(12.65, BatteryVerdict.Good, 100)]
    public void Resting_battery_voltage_gives_charge_and_verdict(double volts, BatteryVerdict verdict, double percent)
    {
        Assert.Equal(verdict, BatteryHealth.Resting(volts));
        Assert.Equal(percent, Math.Round(BatteryHealth.StateOfCharge(volts), 1));
    }

    [Theory]
    [InlineData(13.0, BatteryVerdict.Undercharging)]
    [InlineData(15.3, BatteryVerdict.Overcharging)]
    [InlineData(14.2, BatteryVerdict.Charging)]
    public void Running_voltage_shows_the_charging_system(double volts, BatteryVerdict verdict) =>
        Assert.Equal(verdict, BatteryHealth.Running(volts));

    [Fact]
    public void The_virtual_odometer_uses_distance_deltas_resets_speed_and_the_vehicle_odometer()
    {
        var keeper = new DistanceKeeper();
        keeper.Anchor(185_000);
        Assert.Equal(0, keeper.DistanceSinceClear(0));
        Assert.Equal(10_000, keeper.DistanceSinceClear(10_000));   // 41 31 27 10
        Assert.Equal(5, keeper.DistanceSinceClear(5));             // 41 31 00 05 after a clear: reset detected
        Assert.Equal(195_005, keeper.Odometer);

        keeper.Speed(0, 60);
        Assert.Equal(0.0, keeper.Speed(30_000, 60));                 // a 30 s gap (adapter dropout): not integrated
        Assert.Equal(0.1667, Math.Round(keeper.Speed(40_000, 60), 4)); // 10 s at 60 km/h

        keeper.VehicleOdometer(200_000.0);                           // 41 A6 00 1E 84 80
        Assert.Equal(200_000.0, keeper.Odometer);
    }

    [Fact]
    public void Speed_is_integrated_with_the_trapezoid_rule_over_short_gaps()
    {
        var keeper = new DistanceKeeper();
        keeper.Anchor(0);
        keeper.Speed(0, 0);
        for (var t = 1000; t <= 60_000; t += 1000)
            keeper.Speed(t, 72);
        Assert.Equal(0.01 + 1.18, Math.Round(keeper.Odometer!.Value, 6)); // 0->72 km/h in 1 s, then 59 s at 72 km/h
    }

    [Fact]
    public void Service_items_are_due_soon_due_and_overdue_by_distance_and_time()
    {
        var oil = new ServiceItem("oil", "Engine oil", 15_000, 365, 185_000, new DateOnly(2026, 6, 1));
        var today = new DateOnly(2026, 11, 22);
        var (status, share, _) = ServiceSchedule.Evaluate(oil, 198_600, today); // 13,600 km = 90.7 %
        Assert.Equal(ServiceStatus.DueSoon, status);
        Assert.Equal(0.907, Math.Round(share!.Value, 3));
        Assert.Equal(ServiceStatus.Due, ServiceSchedule.Evaluate(oil, 200_000, today).Status);
        Assert.Equal(ServiceStatus.Overdue, ServiceSchedule.Evaluate(oil, 201_600, today).Status);
        Assert.Equal(ServiceStatus.Ok, ServiceSchedule.Evaluate(oil, 190_000, today).Status);
        Assert.Equal(ServiceStatus.DueSoon, ServiceSchedule.Evaluate(oil, 190_000, new DateOnly(2027, 5, 10)).Status); // 30 days before the year
        Assert.Equal(ServiceStatus.Overdue, ServiceSchedule.Evaluate(oil with { IntervalKm = null }, null, new DateOnly(2027, 8, 1)).Status);
    }
}
