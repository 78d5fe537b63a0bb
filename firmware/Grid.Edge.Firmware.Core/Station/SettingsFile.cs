namespace Grid.Edge.Firmware.Core.Station;

/// <summary>
/// Reads the station's settings file: one <c>key = value</c> per line, <c>#</c> starts a comment. Every problem
/// is reported with its line number, because the person reading it is looking at a serial console on a ladder.
/// </summary>
public static class SettingsFile
{
    /// <summary>Fills <paramref name="options"/> and <paramref name="board"/>; returns the first problem, or an empty string.</summary>
    public static string Load(string text, StationOptions options, BoardSettings board)
    {
        var lineNumber = 0;
        var start = 0;
        while (start <= text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0)
                end = text.Length;
            lineNumber++;
            var line = text.Substring(start, end - start).Trim();
            start = end + 1;
            if (line.Length == 0 || line[0] == '#')
                continue;

            var equals = line.IndexOf('=');
            if (equals <= 0)
                return "line " + lineNumber + ": expected key = value";
            var key = line.Substring(0, equals).Trim().ToLower();
            var value = line.Substring(equals + 1).Trim();
            var problem = Apply(key, value, options, board);
            if (problem.Length > 0)
                return "line " + lineNumber + ": " + problem;
        }

        var invalid = options.Validate();
        if (invalid.Length > 0)
            return invalid;
        return board.Validate();
    }

    private static string Apply(string key, string value, StationOptions options, BoardSettings board)
    {
        switch (key)
        {
            case "device_id":
                options.DeviceId = value;
                return string.Empty;
            case "wifi_ssid":
                board.WifiSsid = value;
                return string.Empty;
            case "wifi_password":
                board.WifiPassword = value;
                return string.Empty;
            case "hub_host":
                board.HubHost = value;
                return string.Empty;
            case "mqtt_user":
                board.MqttUser = value;
                return string.Empty;
            case "mqtt_password":
                board.MqttPassword = value;
                return string.Empty;
            case "sntp_server":
                board.SntpServer = value;
                return string.Empty;
        }

        if (key == "has_bme280" || key == "has_rain_gauge" || key == "has_anemometer" || key == "has_supply_monitor")
        {
            bool flag;
            if (value == "true" || value == "yes" || value == "1")
                flag = true;
            else if (value == "false" || value == "no" || value == "0")
                flag = false;
            else
                return key + " must be true or false, not '" + value + "'";
            if (key == "has_bme280")
                options.HasBme280 = flag;
            else if (key == "has_rain_gauge")
                options.HasRainGauge = flag;
            else if (key == "has_anemometer")
                options.HasAnemometer = flag;
            else
                options.HasSupplyMonitor = flag;
            return string.Empty;
        }

        if (key == "rain_mm_per_tip" || key == "anemometer_mps_per_hz" || key == "supply_divider_ratio")
        {
            double number;
            if (!TryParseDecimal(value, out number) || number <= 0)
                return key + " must be a positive number like 0.2794, not '" + value + "'";
            if (key == "rain_mm_per_tip")
                options.RainMillimetresPerTip = number;
            else if (key == "anemometer_mps_per_hz")
                options.AnemometerMetresPerSecondPerHertz = number;
            else
                options.SupplyDividerRatio = number;
            return string.Empty;
        }

        int whole;
        if (!TryParseInteger(value, out whole))
            return IsKnownInteger(key) ? key + " must be a whole number, not '" + value + "'" : "unknown setting '" + key + "'";
        switch (key)
        {
            case "hub_port": board.HubPort = whole; break;
            case "sample_interval_s": options.SampleIntervalSeconds = whole; break;
            case "publish_every_samples": options.PublishEverySamples = whole; break;
            case "batch_readings": options.BatchReadings = whole; break;
            case "wind_window_s": options.WindWindowSeconds = whole; break;
            case "rain_debounce_ms": options.RainDebounceMilliseconds = whole; break;
            case "max_backoff_s": options.MaximumBackoffSeconds = whole; break;
            case "network_timeout_ms": options.NetworkTimeoutMilliseconds = whole; break;
            case "i2c_bus": board.I2cBus = whole; break;
            case "i2c_sda_pin": board.I2cDataPin = whole; break;
            case "i2c_scl_pin": board.I2cClockPin = whole; break;
            case "bme280_address": board.Bme280Address = whole; break;
            case "rain_pin": board.RainPin = whole; break;
            case "anemometer_pin": board.AnemometerPin = whole; break;
            case "supply_pin": board.SupplyPin = whole; break;
            default: return "unknown setting '" + key + "'";
        }

        return string.Empty;
    }

    private static bool IsKnownInteger(string key) =>
        key == "hub_port" || key == "sample_interval_s" || key == "publish_every_samples" || key == "batch_readings"
        || key == "wind_window_s" || key == "rain_debounce_ms" || key == "max_backoff_s" || key == "network_timeout_ms"
        || key == "i2c_bus" || key == "i2c_sda_pin" || key == "i2c_scl_pin" || key == "bme280_address"
        || key == "rain_pin" || key == "anemometer_pin" || key == "supply_pin";

    /// <summary>Decimal or 0x hexadecimal, at most 9 digits.</summary>
    public static bool TryParseInteger(string text, out int value)
    {
        value = 0;
        var hex = text.Length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
        var start = hex ? 2 : 0;
        var negative = !hex && text.Length > 1 && text[0] == '-';
        if (negative)
            start = 1;
        if (text.Length == start || text.Length - start > (hex ? 8 : 9))
            return false;
        long result = 0;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            int digit;
            if (c >= '0' && c <= '9')
                digit = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            else
                return false;
            result = (result * (hex ? 16 : 10)) + digit;
        }

        if (result > int.MaxValue)
            return false;
        value = negative ? -(int)result : (int)result;
        return true;
    }

    /// <summary>Plain decimal like 0.2794 (no exponent, culture-free), at most 15 significant digits.</summary>
    public static bool TryParseDecimal(string text, out double value)
    {
        value = 0;
        var i = 0;
        var negative = text.Length > 0 && text[0] == '-';
        if (negative)
            i = 1;
        long mantissa = 0;
        var digits = 0;
        var scale = 0;
        var seenPoint = false;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '.' && !seenPoint)
            {
                seenPoint = true;
                continue;
            }

            if (c < '0' || c > '9' || digits == 15)
                return false;
            mantissa = (mantissa * 10) + (c - '0');
            digits++;
            if (seenPoint)
                scale++;
        }

        if (digits == 0)
            return false;
        double divisor = 1;
        for (var k = 0; k < scale; k++)
            divisor *= 10;
        value = (negative ? -mantissa : mantissa) / divisor;
        return true;
    }
}
