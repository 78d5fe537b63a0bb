namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>
/// An MQTT session with the hub (M2Mqtt on the device). The implementation holds the broker address, the
/// device's credentials and a retained last will <c>offline</c> on <c>grid/&lt;device&gt;/status</c>.
/// </summary>
public interface IMqttLink
{
    bool Connect();

    /// <summary>
    /// Publishes the first <paramref name="length"/> bytes of <paramref name="payload"/> with QoS 1 and returns
    /// true only after the broker acknowledged it (the hub acknowledges once the readings are stored durably).
    /// </summary>
    bool PublishAcknowledged(string topic, byte[] payload, int length, bool retain);

    void Disconnect();
}
