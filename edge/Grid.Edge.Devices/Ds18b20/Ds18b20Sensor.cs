using System.Globalization;
using Grid.Edge.Devices.Sensors;

namespace Grid.Edge.Devices.Ds18b20;

/// <summary>
/// A DS18B20 temperature probe on the Linux 1-Wire bus (w1-gpio overlay, w1_therm driver), read from sysfs:
/// <c>/sys/bus/w1/devices/28-xxxxxxxxxxxx/w1_slave</c>. A failed CRC ("NO") and the power-on value 85.000 degC are
/// refused, as is -127 (no answer).
/// </summary>
public sealed class Ds18b20Sensor(string deviceId, string metric = "temperature", string devicesRoot = "/sys/bus/w1/devices") : ISensor
{
    public string Description => $"DS18B20 {deviceId}";

    /// <summary>Ids of the DS18B20s the kernel found (family code 28).</summary>
    public static IReadOnlyList<string> Discover(string devicesRoot = "/sys/bus/w1/devices") =>
        Directory.Exists(devicesRoot)
            ? Directory.EnumerateDirectories(devicesRoot, "28-*").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    public IReadOnlyList<SensorReading> Read()
    {
        var path = Path.Combine(devicesRoot, deviceId, "w1_slave");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SensorException($"{Description}: cannot read {path} ({e.Message}); is 'dtoverlay=w1-gpio' in /boot/config.txt and the probe wired with a 4.7 kOhm pull-up?");
        }

        return [new SensorReading(metric, Parse(text, Description), "degC")];
    }

    /// <summary>Parses the two lines of w1_slave: "... : crc=xx YES" then "... t=23125" (millidegrees).</summary>
    public static double Parse(string text, string description = "DS18B20")
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2 || !lines[0].Contains("crc=", StringComparison.Ordinal))
            throw new SensorException($"{description}: unexpected w1_slave content '{text.Trim()}'");
        if (!lines[0].EndsWith("YES", StringComparison.Ordinal))
            throw new SensorException($"{description}: CRC check failed (noise on the 1-Wire line: check the pull-up and the cable length)");
        var at = lines[1].LastIndexOf("t=", StringComparison.Ordinal);
        if (at < 0 || !int.TryParse(lines[1].AsSpan(at + 2), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var milli))
            throw new SensorException($"{description}: no temperature in '{lines[1]}'");
        if (milli == 85_000)
            throw new SensorException($"{description}: reports 85.000 degC, its power-on value (the conversion did not run: check the supply)");
        if (milli <= -127_000 || milli > 125_000)
            throw new SensorException($"{description}: reports {milli / 1000.0} degC, outside the sensor's range (not connected?)");
        return milli / 1000.0;
    }

    public void Dispose()
    {
    }
}
