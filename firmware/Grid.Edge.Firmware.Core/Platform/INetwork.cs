namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>The Wi-Fi link. Brought up only to publish, then taken down to save power.</summary>
public interface INetwork
{
    /// <summary>Joins the network and gets an address; false when it did not happen within the timeout.</summary>
    bool Connect(int timeoutMilliseconds);

    void Disconnect();

    /// <summary>Received signal strength in dBm while connected; 0 when unknown.</summary>
    int SignalStrength { get; }
}
