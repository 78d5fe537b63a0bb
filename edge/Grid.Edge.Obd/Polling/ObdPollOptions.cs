namespace Grid.Edge.Obd.Polling;

/// <summary>How often each class of PID is read and how the reader waits when the vehicle or adapter is away.</summary>
public sealed class ObdPollOptions
{
    /// <summary>Engine speed, vehicle speed, load, throttle, MAF, MAP, fuel rate.</summary>
    public TimeSpan FastInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Temperatures, fuel level and trims, module voltage, battery (ATRV).</summary>
    public TimeSpan SlowInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Counters, odometer, MIL and trouble codes.</summary>
    public TimeSpan RareInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>With the ignition off: how often to read the resting battery voltage and look for the vehicle again.</summary>
    public TimeSpan IgnitionOffInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First wait before reconnecting to a lost adapter; doubles up to <see cref="ReconnectMaximum"/>.</summary>
    public TimeSpan ReconnectMinimum { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan ReconnectMaximum { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Polls in a row where no fast PID answered before the engine counts as off.</summary>
    public int SilentPollsBeforeIgnitionOff { get; set; } = 3;

    public string Validate()
    {
        if (FastInterval <= TimeSpan.Zero || SlowInterval < FastInterval || RareInterval < SlowInterval)
            return "OBD intervals must be positive with fast <= slow <= rare";
        if (ReconnectMinimum <= TimeSpan.Zero || ReconnectMaximum < ReconnectMinimum)
            return "reconnect waits must be positive with minimum <= maximum";
        if (SilentPollsBeforeIgnitionOff < 1)
            return "SilentPollsBeforeIgnitionOff must be at least 1";
        return string.Empty;
    }
}
