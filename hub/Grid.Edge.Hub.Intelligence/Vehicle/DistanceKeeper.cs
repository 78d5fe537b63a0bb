using System.Text.Json.Serialization;

namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>
/// The hub's virtual odometer (maintenance.md section 1): anchored once by the person (the dashboard reading), then
/// moved on by the best source available - the vehicle's own odometer (PID A6, which re-anchors), deltas of
/// "distance since codes cleared" (PID 31, resets detected), or integrated speed (trapezoid rule, not across gaps).
/// Its state is plain properties, so the hub keeps it in its vehicle records across restarts.
/// </summary>
public sealed class DistanceKeeper
{
    private static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(10);

    /// <summary>Kilometres on the odometer now; null until anchored.</summary>
    [JsonInclude]
    public double? Odometer { get; private set; }

    /// <summary>The last PID 31 value; once a vehicle reports it, speed no longer moves the odometer.</summary>
    [JsonInclude]
    public double? SinceClear { get; private set; }

    [JsonInclude]
    public long? LastSpeedT { get; private set; }

    [JsonInclude]
    public double? LastSpeedKmh { get; private set; }

    /// <summary>Sets the odometer to what the dashboard shows.</summary>
    public void Anchor(double km) => Odometer = km;

    /// <summary>PID A6: the vehicle's own odometer, which is better than any estimate.</summary>
    public void VehicleOdometer(double km) => Odometer = km;

    /// <summary>PID 31: returns the kilometres driven since the previous value (the new value itself after a reset).</summary>
    public double DistanceSinceClear(double km)
    {
        var delta = SinceClear is { } last ? (km >= last ? km - last : km) : 0;
        SinceClear = km;
        Odometer += delta;
        return delta;
    }

    /// <summary>
    /// PID 0D at time <paramref name="t"/> (Unix ms): the distance between samples at most 10 s apart. It moves the
    /// odometer only for vehicles without PID 31, which measures the same distance better.
    /// </summary>
    public double Speed(long t, double kmh)
    {
        var delta = 0.0;
        if (LastSpeedT is { } lastT && LastSpeedKmh is { } lastKmh && t > lastT && t - lastT <= MaxGap.TotalMilliseconds)
            delta = (lastKmh + kmh) / 2 * ((t - lastT) / 3_600_000.0);
        (LastSpeedT, LastSpeedKmh) = (t, kmh);
        if (SinceClear is null)
            Odometer += delta;
        return delta;
    }
}
