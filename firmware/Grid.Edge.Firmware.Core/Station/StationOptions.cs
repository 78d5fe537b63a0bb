namespace Grid.Edge.Firmware.Core.Station;

/// <summary>What the station has and how it behaves. Defaults suit a battery station on a roof.</summary>
public sealed class StationOptions
{
    /// <summary>Device id: the second segment of <c>grid/&lt;device&gt;/batch</c> (1-64 of A-Z a-z 0-9 _ . -).</summary>
    public string DeviceId { get; set; } = "weather-esp32";

    /// <summary>Seconds between samples.</summary>
    public int SampleIntervalSeconds { get; set; } = 300;

    /// <summary>Publish after this many samples (or earlier when the buffer is half full).</summary>
    public int PublishEverySamples { get; set; } = 6;

    /// <summary>Readings per MQTT message; the hub accepts up to 10,000 by default.</summary>
    public int BatchReadings { get; set; } = 50;

    /// <summary>Most batches sent in one wake, so a long backlog drains over several wakes instead of one long radio-on period.</summary>
    public int MaximumBatchesPerWake { get; set; } = 100;

    /// <summary>Time allowed to join Wi-Fi before giving up until the next attempt.</summary>
    public int NetworkTimeoutMilliseconds { get; set; } = 15000;

    /// <summary>Longest wait between publish attempts while the hub or Wi-Fi is unreachable (the wait doubles from one sample interval).</summary>
    public int MaximumBackoffSeconds { get; set; } = 3600;

    public bool HasBme280 { get; set; } = true;

    public bool HasRainGauge { get; set; } = true;

    /// <summary>Rain per bucket tip in mm (0.2794 for the common Misol/Sparkfun gauge).</summary>
    public double RainMillimetresPerTip { get; set; } = 0.2794;

    /// <summary>Edges closer than this after a tip are contact bounce.</summary>
    public int RainDebounceMilliseconds { get; set; } = 100;

    public bool HasAnemometer { get; set; } = true;

    /// <summary>Wind speed per pulse frequency (0.667 m/s per Hz for the common Misol/Sparkfun anemometer).</summary>
    public double AnemometerMetresPerSecondPerHertz { get; set; } = 0.667;

    /// <summary>Seconds the station stays awake counting anemometer pulses at each sample.</summary>
    public int WindWindowSeconds { get; set; } = 10;

    public bool HasSupplyMonitor { get; set; } = true;

    /// <summary>Voltage divider between the battery and the ADC pin (2 for two equal resistors).</summary>
    public double SupplyDividerRatio { get; set; } = 2.0;

    /// <summary>Checks the settings; returns the first problem, or an empty string.</summary>
    public string Validate()
    {
        if (DeviceId == null || DeviceId.Length < 1 || DeviceId.Length > 64)
            return "DeviceId must have 1 to 64 characters";
        for (var i = 0; i < DeviceId.Length; i++)
        {
            var c = DeviceId[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
                return "DeviceId may only use A-Z a-z 0-9 _ . -";
        }

        if (SampleIntervalSeconds < 10 || SampleIntervalSeconds > 86400)
            return "SampleIntervalSeconds must be 10 to 86400";
        if (PublishEverySamples < 1 || PublishEverySamples > 1000)
            return "PublishEverySamples must be 1 to 1000";
        if (BatchReadings < 1 || BatchReadings > 500)
            return "BatchReadings must be 1 to 500";
        if (MaximumBatchesPerWake < 1)
            return "MaximumBatchesPerWake must be at least 1";
        if (WindWindowSeconds < 3 || WindWindowSeconds > 60 || WindWindowSeconds >= SampleIntervalSeconds)
            return "WindWindowSeconds must be 3 to 60 and shorter than the sample interval";
        if (RainMillimetresPerTip <= 0 || AnemometerMetresPerSecondPerHertz <= 0 || SupplyDividerRatio <= 0)
            return "calibration factors must be positive";
        if (MaximumBackoffSeconds < SampleIntervalSeconds)
            return "MaximumBackoffSeconds must be at least the sample interval";
        return string.Empty;
    }
}
