using System.Globalization;

namespace Grid.Edge.Agent.Sensors;

/// <summary>One entry of "Agent:Sensors": the type picks which of the other settings apply.</summary>
public sealed class SensorOptions
{
    /// <summary>bme280, ds18b20, rain, anemometer, windvane or gps.</summary>
    public string Type { get; set; } = string.Empty;

    public double IntervalSeconds { get; set; } = 60;

    /// <summary>I2C bus (bme280), 1 on a Raspberry Pi.</summary>
    public int Bus { get; set; } = 1;

    /// <summary>I2C address (bme280): "0x76" or "0x77".</summary>
    public string Address { get; set; } = "0x76";

    /// <summary>1-Wire id (ds18b20), e.g. 28-0316a279d1ff; "auto" takes the only probe present.</summary>
    public string Id { get; set; } = "auto";

    /// <summary>Metric the reading is published as (ds18b20; default temperature).</summary>
    public string Metric { get; set; } = "temperature";

    /// <summary>GPIO (BCM numbering) of a reed switch (rain, anemometer).</summary>
    public int Pin { get; set; } = -1;

    public double MillimetresPerTip { get; set; } = 0.2794;

    public double MetresPerSecondPerHertz { get; set; } = 0.667;

    /// <summary>Closures closer than this are contact bounce (rain default 100 ms, anemometer 5 ms).</summary>
    public int DebounceMs { get; set; } = -1;

    public int SpiBus { get; set; }

    public int ChipSelect { get; set; }

    /// <summary>MCP3008 channel of the wind vane (0-7).</summary>
    public int Channel { get; set; }

    public double PullUpOhms { get; set; } = 10_000;

    public double OffsetDegrees { get; set; }

    /// <summary>gpsd address.</summary>
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 2947;

    public int AddressValue =>
        Address.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && int.TryParse(Address.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex) ? hex
        : int.TryParse(Address, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : -1;

    public string? Validate(int index)
    {
        var at = $"Agent:Sensors:{index} ({Type})";
        if (IntervalSeconds is < 0.1 or > 86_400)
            return $"{at}: IntervalSeconds must be 0.1 to 86400";
        return Type.ToLowerInvariant() switch
        {
            "bme280" => AddressValue is 0x76 or 0x77 ? null : $"{at}: Address must be 0x76 or 0x77",
            "ds18b20" => Id == "auto" || (Id.StartsWith("28-", StringComparison.Ordinal) && Id.Length == 15) ? null : $"{at}: Id must be 28-xxxxxxxxxxxx or auto",
            "rain" or "anemometer" => Pin is >= 0 and <= 53 ? null : $"{at}: Pin must be the BCM GPIO number of the reed switch",
            "windvane" => Channel is >= 0 and <= 7 && PullUpOhms > 0 ? null : $"{at}: Channel must be 0-7 and PullUpOhms positive",
            "gps" => Port is >= 1 and <= 65535 && Host.Length > 0 ? null : $"{at}: Host and Port must name gpsd",
            _ => $"{at}: Type must be bme280, ds18b20, rain, anemometer, windvane or gps",
        };
    }
}
