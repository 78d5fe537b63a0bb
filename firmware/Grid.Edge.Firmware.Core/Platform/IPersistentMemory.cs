namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>
/// Memory that survives deep sleep and, for flash, power loss: a file on the ESP32's internal flash or RTC
/// memory. A write is durable when it returns true. A power cut may leave a write partly done; callers
/// must detect that themselves (the reading buffer checksums everything).
/// </summary>
public interface IPersistentMemory
{
    /// <summary>Size in bytes.</summary>
    int Size { get; }

    bool Read(int address, byte[] buffer, int offset, int count);

    bool Write(int address, byte[] buffer, int offset, int count);
}
