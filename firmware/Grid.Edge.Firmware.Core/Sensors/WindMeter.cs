namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>
/// Cup anemometer: the station stays awake for a wind window (10 s by default) and reads the pulse counter once a
/// second. Mean speed is over the window; the gust is the highest 3-second mean inside it (the WMO gust definition).
/// </summary>
public sealed class WindMeter
{
    /// <summary>The WMO gust averaging time.</summary>
    public const int GustSeconds = 3;

    private readonly double _metresPerSecondPerHertz;
    private readonly int[] _perSecond;
    private int _seconds;

    /// <param name="metresPerSecondPerHertz">Calibration of the cups: 0.667 m/s per Hz for the common Misol/Sparkfun anemometer (2.4 km/h per Hz).</param>
    /// <param name="maximumWindowSeconds">Longest window the station will ask for.</param>
    public WindMeter(double metresPerSecondPerHertz, int maximumWindowSeconds)
    {
        _metresPerSecondPerHertz = metresPerSecondPerHertz;
        _perSecond = new int[maximumWindowSeconds < GustSeconds ? GustSeconds : maximumWindowSeconds];
    }

    public int MaximumWindowSeconds => _perSecond.Length;

    public void Begin() => _seconds = 0;

    /// <summary>Adds the pulses of one second; ignored past the maximum window.</summary>
    public void AddSecond(int pulses)
    {
        if (_seconds >= _perSecond.Length)
            return;
        _perSecond[_seconds] = pulses < 0 ? 0 : pulses;
        _seconds++;
    }

    /// <summary>False until at least <see cref="GustSeconds"/> seconds were added.</summary>
    public bool TryGetResult(out double meanSpeed, out double gust)
    {
        meanSpeed = 0;
        gust = 0;
        if (_seconds < GustSeconds)
            return false;

        var total = 0;
        for (var i = 0; i < _seconds; i++)
            total += _perSecond[i];
        var best = 0;
        for (var start = 0; start + GustSeconds <= _seconds; start++)
        {
            var sum = 0;
            for (var i = start; i < start + GustSeconds; i++)
                sum += _perSecond[i];
            if (sum > best)
                best = sum;
        }

        meanSpeed = total * _metresPerSecondPerHertz / _seconds;
        gust = best * _metresPerSecondPerHertz / GustSeconds;
        return true;
    }
}
