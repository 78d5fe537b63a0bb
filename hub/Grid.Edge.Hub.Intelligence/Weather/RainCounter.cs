namespace Grid.Edge.Hub.Intelligence.Weather;

/// <summary>
/// Turns a gauge's cumulative rain counter into increments (weather.md section 6): a counter that goes down was
/// reset (or wrapped, when its width is known); an implausible jump is refused; a repeated value adds nothing.
/// </summary>
public sealed class RainCounter(double maximumStepMillimetres = 50, double? wrapMillimetres = null)
{
    private double? _last;

    /// <summary>What became of the last reading.</summary>
    public enum Outcome
    {
        First,
        Counted,
        Reset,
        Wrapped,
        Implausible,
    }

    /// <summary>The rain since the previous reading of the counter; 0 for the first reading or a refused jump.</summary>
    public double Add(double total, out Outcome outcome)
    {
        if (_last is not { } last)
        {
            _last = total;
            outcome = Outcome.First;
            return 0;
        }

        var delta = total - last;
        outcome = Outcome.Counted;
        if (delta < 0)
        {
            if (wrapMillimetres is { } wrap && delta + wrap >= 0 && delta + wrap <= maximumStepMillimetres)
            {
                delta += wrap;
                outcome = Outcome.Wrapped;
            }
            else
            {
                // Reset: the counter started again from zero, and what it shows now fell since then.
                delta = total;
                outcome = Outcome.Reset;
            }
        }

        if (delta > maximumStepMillimetres)
        {
            outcome = Outcome.Implausible;
            _last = total;
            return 0;
        }

        _last = total;
        return delta;
    }

    /// <summary>Rain rate in mm/h from the tips of the last <paramref name="window"/> (window method).</summary>
    public static double RateFromWindow(double millimetresInWindow, TimeSpan window) =>
        window <= TimeSpan.Zero ? 0 : millimetresInWindow * 3600 / window.TotalSeconds;

    /// <summary>Rain rate in mm/h from the time between the last two tips (Davis style), decaying to 0 after 15 minutes without a tip.</summary>
    public static double RateFromTips(double millimetresPerTip, TimeSpan betweenLastTwo, TimeSpan sinceLast)
    {
        if (sinceLast > TimeSpan.FromMinutes(15) || betweenLastTwo <= TimeSpan.Zero)
            return 0;
        return millimetresPerTip * 3600 / Math.Max(betweenLastTwo.TotalSeconds, sinceLast.TotalSeconds);
    }

    /// <summary>AMS intensity term for a rain rate in mm/h.</summary>
    public static string Intensity(double millimetresPerHour) => millimetresPerHour switch
    {
        <= 0 => "none",
        < 2.5 => "light",
        <= 7.6 => "moderate",
        <= 50 => "heavy",
        _ => "violent",
    };
}
