namespace Grid.Edge.Protocol.Payloads;

/// <summary>Limits the decoder enforces on what devices send.</summary>
public sealed class ReadingDecoderOptions
{
    public int MaxPayloadBytes { get; init; } = 64 * 1024;

    public int MaxBatchReadings { get; init; } = 10_000;

    /// <summary>How far ahead of the hub's clock a device clock may run.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Readings before this instant are refused (devices without a set clock report 1970).</summary>
    public DateTimeOffset Earliest { get; init; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
