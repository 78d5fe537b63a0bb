namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>What a 12 V lead-acid battery's voltage says (maintenance.md section 3).</summary>
public enum BatteryVerdict
{
    Good,
    RechargeSoon,
    Low,
    Critical,
    Charging,
    Undercharging,
    Overcharging,
}

/// <summary>State of charge from the resting voltage, and the charging system's state with the engine running.</summary>
public static class BatteryHealth
{
    // Resting voltage -> state of charge, interpolated between the table's points.
    private static readonly (double Volts, double Percent)[] Table = [(11.9, 0), (12.0, 25), (12.2, 50), (12.4, 75), (12.6, 100)];

    /// <summary>State of charge in % from a resting voltage (measured at least an hour after driving).</summary>
    public static double StateOfCharge(double restingVolts)
    {
        if (restingVolts <= Table[0].Volts)
            return 0;
        if (restingVolts >= Table[^1].Volts)
            return 100;
        for (var i = 1; i < Table.Length; i++)
        {
            if (restingVolts <= Table[i].Volts)
            {
                var (v0, p0) = Table[i - 1];
                var (v1, p1) = Table[i];
                return p0 + ((restingVolts - v0) / (v1 - v0) * (p1 - p0));
            }
        }

        return 100;
    }

    /// <summary>At rest: good from 12.4 V, recharge soon below, low below 12.2 V, critical below 11.9 V.</summary>
    public static BatteryVerdict Resting(double volts) => volts switch
    {
        < 11.9 => BatteryVerdict.Critical,
        < 12.2 => BatteryVerdict.Low,
        < 12.4 => BatteryVerdict.RechargeSoon,
        _ => BatteryVerdict.Good,
    };

    /// <summary>Engine running: charging 13.2-15.0 V, under 13.2 V undercharging, over 15.0 V overcharging.</summary>
    public static BatteryVerdict Running(double volts) => volts switch
    {
        < 13.2 => BatteryVerdict.Undercharging,
        > 15.0 => BatteryVerdict.Overcharging,
        _ => BatteryVerdict.Charging,
    };
}
