using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Demo;

/// <summary>
/// A simulated van: drive cycles (stops, city, open road) with rpm following speed through the gears, coolant
/// warming up, the battery charging while the engine runs and resting otherwise, fuel used, and now and then a
/// trouble code.
/// </summary>
internal sealed class VehicleModel(string device)
{
    private const long Minute = 60_000;
    private const long Day = 86_400_000;
    private static readonly double[] RpmPerKmh = [0, 95, 58, 40, 31, 25];

    public string Device { get; } = device;

    /// <summary>Trips of one day as (start, length): a morning and an evening drive, and on some days a third.</summary>
    public static IEnumerable<(long Start, long Length)> TripsOn(long dayStart)
    {
        var day = dayStart / Day;
        yield return (dayStart + (7 * 60 + 40 + (long)(30 * DemoNoise.Hash(71, day))) * Minute, (35 + (long)(15 * DemoNoise.Hash(72, day))) * Minute);
        yield return (dayStart + (17 * 60 + 10 + (long)(40 * DemoNoise.Hash(73, day))) * Minute, (45 + (long)(20 * DemoNoise.Hash(74, day))) * Minute);
        if (DemoNoise.Hash(75, day) > 0.3)
            yield return (dayStart + (12 * 60 + (long)(60 * DemoNoise.Hash(76, day))) * Minute, (25 + (long)(10 * DemoNoise.Hash(77, day))) * Minute);
    }

    /// <summary>Target speed in km/h at <paramref name="sinceStart"/> ms into a trip that began at <paramref name="tripStart"/>.</summary>
    public static double Speed(long tripStart, long sinceStart, long tripLength)
    {
        if (sinceStart < 40_000 || tripLength - sinceStart < 40_000)
            return Math.Max(0, Math.Min(sinceStart, tripLength - sinceStart) - 10_000) / 30_000.0 * 25; // pulling out, parking
        var t = tripStart + sinceStart;
        var stop = DemoNoise.Smooth((ulong)tripStart, t, 75_000);
        if (stop < -0.55)
            return 0; // lights, junctions
        var road = DemoNoise.Smooth((ulong)tripStart + 1, t, 420_000); // city vs open road
        var speed = 45 + 35 * road + 12 * DemoNoise.Smooth((ulong)tripStart + 2, t, 20_000);
        return Math.Clamp(speed * Math.Min(1, (stop + 0.55) * 3), 0, 115);
    }

    public IEnumerable<Reading> ReadingsAt(long t, long tripStart, long tripLength, double ambient)
    {
        var s = t - tripStart;
        var speed = Speed(tripStart, s, tripLength);
        var previous = Speed(tripStart, Math.Max(0, s - 2000), tripLength);
        var accel = (speed - previous) / 2; // km/h per s
        var gear = speed < 1 ? 0 : Math.Clamp((int)Math.Ceiling(speed / 22), 1, 5);
        var rpm = gear == 0 ? 780 + 40 * DemoNoise.Hash(81, t / 1000) : Math.Max(900, speed * RpmPerKmh[gear] + 250 * Math.Max(0, accel));
        var load = Math.Clamp(18 + speed * 0.35 + Math.Max(0, accel) * 9 + 3 * DemoNoise.Hash(82, t / 1000), 8, 98);
        var coolant = ambient + (89 - ambient) * (1 - Math.Exp(-s / 380_000.0)) + 1.5 * DemoNoise.Smooth(83, t, 60_000);
        var battery = 14.15 + 0.12 * DemoNoise.Smooth(84, t, 30_000) - (s < 20_000 ? 0.9 : 0);
        yield return R("speed", t, Math.Round(speed), "km/h");
        yield return R("rpm", t, Math.Round(rpm / 10) * 10, "rpm");
        yield return R("engine_load", t, Math.Round(load, 1), "%");
        yield return R("coolant_temp", t, Math.Round(coolant), "degC");
        yield return R("battery_voltage", t, Math.Round(battery, 2), "V");
        yield return R("fuel_level", t, Math.Round(FuelLevel(t), 1), "%");
    }

    /// <summary>The battery between trips: resting voltage sinking slowly after the engine stopped.</summary>
    public Reading RestingBattery(long t, long sinceStop) =>
        R("battery_voltage", t, Math.Round(12.72 - 0.06 * Math.Min(1, sinceStop / (6.0 * 3_600_000)) + 0.01 * DemoNoise.Hash(85, t / Minute), 2), "V");

    /// <summary>Fuel falls over about four days of driving, then the tank is filled again.</summary>
    public static double FuelLevel(long t)
    {
        var cycle = 4.2 * Day;
        var phase = t % (long)cycle / cycle;
        return 88 - 72 * phase;
    }

    /// <summary>Some days the engine reports a trouble code (SAE J2012, two bytes as one number), e.g. 0x0171 = P0171.</summary>
    public static int? TroubleCodeOn(long dayStart)
    {
        var h = DemoNoise.Hash(91, dayStart / Day);
        return h > 0.55 ? 0x0171 : h < -0.8 ? 0x0420 : null;
    }

    public Reading Dtc(long t, int code) => R("dtc", t, code, string.Empty);

    public Reading DtcCount(long t, int count) => R("dtc_count", t, count, string.Empty);

    private Reading R(string metric, long t, double value, string unit) => new(new SeriesKey(Device, metric), t, value, unit);
}
