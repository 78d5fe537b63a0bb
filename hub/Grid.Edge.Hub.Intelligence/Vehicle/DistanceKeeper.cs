namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>
/// The hub's virtual odometer (maintenance.md section 1): anchored once by the person (the dashboard reading), then
/// moved on by the best source available - the vehicle's own odometer (PID A6, which re-anchors), deltas of
/// "distance since codes cleared" (PID 31, resets detected), or integrated speed (trapezoid rule, not across gaps).
/// </summary>
public sealed class DistanceKeeper
{
    private static readonly TimeSpan MaxGap = TimeSpan.FromSeconds(10);

    private double? _sinceClear;
    private (long T, double Kmh)? _lastSpeed;

    /// <summary>Kilometres on the odometer now; null until anchored.</summary>
    public double? Odometer { get; private set; }

    /// <summary>Sets the odometer to what the dashboard shows.</summary>
    public void Anchor(double km) => Odometer = km;

    /// <summary>PID A6: the vehicle's own odometer, which is better than any estimate.</summary>
    public void VehicleOdometer(double km) => Odometer = km;

    /// <summary>PID 31: returns the kilometres driven since the previous value (the new value itself after a reset).</summary>
    public double DistanceSinceClear(double km)
    {
        var delta = _sinceClear is { } last ? (km >= last ? km - last : km) : 0;
        _sinceClear = km;
        Odometer += delta;
        return delta;
    }

    /// <summary>PID 0D at time <paramref name="t"/> (Unix ms): integrates speed between samples at most 10 s apart.</summary>
    public double Speed(long t, double kmh)
    {
        var delta = 0.0;
        if (_lastSpeed is { } last && t > last.T && t - last.T <= MaxGap.TotalMilliseconds)
            delta = (last.Kmh + kmh) / 2 * ((t - last.T) / 3_600_000.0);
        _lastSpeed = (t, kmh);
        Odometer += delta;
        return delta;
    }
}
