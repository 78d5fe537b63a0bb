namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>
/// A hardware pulse counter on a GPIO (the ESP32 PCNT unit with its glitch filter). Used for the anemometer,
/// which is only counted while the board is awake for a wind window.
/// </summary>
public interface IPulseSource
{
    /// <summary>Clears the counter and starts counting.</summary>
    void StartCounting();

    /// <summary>Pulses counted since <see cref="StartCounting"/> or the previous call, and clears the counter.</summary>
    int TakeCount();

    void StopCounting();
}
