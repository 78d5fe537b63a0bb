namespace Grid.Edge.Obd.Elm327;

/// <summary>How long the first contact with an adapter (the reset, ATZ, answered by its banner) may take.</summary>
public sealed class Elm327Options
{
    /// <summary>Wait for the banner after the first ATZ: a genuine ELM327 takes about a second to reset, clones less.</summary>
    public TimeSpan ResetWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Wait after the second and last ATZ: longer, for an adapter just powered or a Bluetooth link still binding.</summary>
    public TimeSpan ResetRetryWait { get; set; } = TimeSpan.FromSeconds(3);

    public string Validate() =>
        ResetWait <= TimeSpan.Zero || ResetRetryWait <= TimeSpan.Zero ? "the reset waits must be positive" : string.Empty;
}
