namespace Grid.Edge.Firmware.Core.Buffering;

/// <summary>One reading read back from the ring; a single instance is reused so reading allocates nothing.</summary>
public sealed class RingEntry
{
    /// <summary>Clock reading when the sample was taken: UTC ms if <see cref="Dated"/>, else ms since power-on of <see cref="Epoch"/>.</summary>
    public long Time { get; internal set; }

    public double Value { get; internal set; }

    /// <summary>Index into the station's metric table.</summary>
    public int Metric { get; internal set; }

    /// <summary>False when the clock had not been synchronized yet when the reading was taken.</summary>
    public bool Dated { get; internal set; }

    /// <summary>Power-on count the reading belongs to; undated readings can only be dated within their own epoch.</summary>
    public int Epoch { get; internal set; }

    /// <summary>False when the slot failed its checksum (flash damage); such a reading is dropped and counted.</summary>
    public bool Intact { get; internal set; }
}
