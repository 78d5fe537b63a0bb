using System.Threading;
using Grid.Edge.Firmware.Core.Platform;
using nanoFramework.Networking;

namespace Grid.Edge.Firmware.Device;

/// <summary>Wi-Fi station mode with DHCP, up only while publishing.</summary>
internal sealed class WifiNetwork : INetwork
{
    private readonly string _ssid;
    private readonly string _password;

    public WifiNetwork(string ssid, string password)
    {
        _ssid = ssid;
        _password = password;
    }

    // The station reports no RSSI: reading it needs a scan, which costs more power than it is worth.
    public int SignalStrength => 0;

    public bool Connect(int timeoutMilliseconds)
    {
        var timeout = new CancellationTokenSource(timeoutMilliseconds);
        return WifiNetworkHelper.ConnectDhcp(_ssid, _password, requiresDateTime: false, token: timeout.Token);
    }

    public void Disconnect() => WifiNetworkHelper.Disconnect();
}
