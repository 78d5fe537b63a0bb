namespace Grid.Edge.Firmware.Core.Station;

/// <summary>Where the station's hub, network and wires are: read from the settings file on the device's flash.</summary>
public sealed class BoardSettings
{
    public string WifiSsid { get; set; } = string.Empty;

    public string WifiPassword { get; set; } = string.Empty;

    /// <summary>Hub address (IP or DNS name) and MQTT port.</summary>
    public string HubHost { get; set; } = string.Empty;

    public int HubPort { get; set; } = 1883;

    /// <summary>Credentials from pairing with the hub; empty for a hub that accepts the device anonymously.</summary>
    public string MqttUser { get; set; } = string.Empty;

    public string MqttPassword { get; set; } = string.Empty;

    /// <summary>Time server; the hub itself when it runs one (recommended: a station without internet still gets the time).</summary>
    public string SntpServer { get; set; } = "pool.ntp.org";

    public int I2cBus { get; set; } = 1;

    public int I2cDataPin { get; set; } = 21;

    public int I2cClockPin { get; set; } = 22;

    public int Bme280Address { get; set; } = 0x76;

    /// <summary>GPIO of the rain gauge's reed switch; must be an RTC GPIO to wake the board from deep sleep.</summary>
    public int RainPin { get; set; } = 27;

    public int AnemometerPin { get; set; } = 26;

    /// <summary>ADC1 GPIO with the battery divider (ADC2 cannot be read while Wi-Fi is on).</summary>
    public int SupplyPin { get; set; } = 35;

    /// <summary>First problem with the settings, or an empty string.</summary>
    public string Validate()
    {
        if (WifiSsid.Length == 0)
            return "wifi_ssid is required";
        if (HubHost.Length == 0)
            return "hub_host is required";
        if (HubPort < 1 || HubPort > 65535)
            return "hub_port must be 1 to 65535";
        if (Bme280Address != 0x76 && Bme280Address != 0x77)
            return "bme280_address must be 0x76 or 0x77";
        if (MqttUser.Length > 0 && MqttPassword.Length == 0)
            return "mqtt_password is required with mqtt_user";
        return string.Empty;
    }
}
