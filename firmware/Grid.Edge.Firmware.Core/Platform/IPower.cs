namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>Power states of the board.</summary>
public interface IPower
{
    /// <summary>True when this start came from power-on or a brown-out rather than a deep-sleep wake.</summary>
    bool WasPowerCycled { get; }

    /// <summary>Waits a short time with the CPU idle (sensor conversion times).</summary>
    void Pause(int milliseconds);

    /// <summary>Enters deep sleep for the given time. On the device it does not return: the next wake restarts the program.</summary>
    void DeepSleep(long milliseconds);
}
