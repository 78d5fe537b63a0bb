namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>
/// Tipping-bucket rain gauge on a reed switch. Each tip wakes the ESP32 (ext0 wake on the gauge's GPIO) or
/// raises a GPIO interrupt while awake; contact bounce within the debounce time is ignored. The tip count is
/// kept in persistent memory by the station, so it survives deep sleep.
/// </summary>
public sealed class RainGauge
{
    private readonly object _sync = new object();
    private readonly double _millimetresPerTip;
    private readonly int _debounceMilliseconds;
    private long _lastTipAt;
    private bool _anyTip;
    private int _tips;
    private int _bounces;

    /// <param name="millimetresPerTip">Rain per bucket tip; 0.2794 mm for the common Misol/Sparkfun gauge.</param>
    /// <param name="debounceMilliseconds">Minimum time between real tips; reed switches bounce for a few ms, a bucket needs about 0.5 s to tip again.</param>
    public RainGauge(double millimetresPerTip, int debounceMilliseconds)
    {
        _millimetresPerTip = millimetresPerTip;
        _debounceMilliseconds = debounceMilliseconds;
    }

    public double MillimetresPerTip => _millimetresPerTip;

    /// <summary>Tips counted since the counter was last set.</summary>
    public int Tips
    {
        get
        {
            lock (_sync)
                return _tips;
        }
    }

    /// <summary>Edges ignored as contact bounce (a diagnostic for the debounce setting).</summary>
    public int Bounces => _bounces;

    /// <summary>Restores the count kept in persistent memory after a wake.</summary>
    public void Restore(int tips)
    {
        lock (_sync)
        {
            _tips = tips;
            _anyTip = false;
        }
    }

    /// <summary>Called from the GPIO interrupt or on an ext0 wake. Returns false for a bounce.</summary>
    public bool OnTip(long nowMilliseconds)
    {
        lock (_sync)
        {
            if (_anyTip && nowMilliseconds - _lastTipAt < _debounceMilliseconds)
            {
                _bounces++;
                return false;
            }

            _anyTip = true;
            _lastTipAt = nowMilliseconds;
            _tips++;
            return true;
        }
    }

    /// <summary>Rain in mm for a number of tips.</summary>
    public double Millimetres(int tips) => tips * _millimetresPerTip;
}
