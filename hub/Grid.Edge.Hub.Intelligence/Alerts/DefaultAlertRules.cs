using System.Text.Json.Nodes;

namespace Grid.Edge.Hub.Intelligence.Alerts;

/// <summary>
/// The rules a hub starts with (thresholds from shared reference weather.md section 8 and maintenance.md sections 2-6).
/// A rules file can change or disable any of them by id, and add more.
/// </summary>
public static class DefaultAlertRules
{
    private static JsonNode Expr(string json) => JsonNode.Parse(json)!;

    // Trims mean something only in closed loop with a warm engine; coolant above 70 degC stands in for both.
    private static AlertRule FuelTrim(string id, string bank, string severity, string condition, TimeSpan holdFor) => new()
    {
        Id = id,
        Title = severity == "critical"
            ? $"Fuel trim bank {bank} beyond 25 %: a lean or rich fault code is imminent"
            : $"Fuel trim bank {bank} out of range (long-term over 10 % or total over 15 %)",
        Severity = severity,
        Requires = [$"stft{bank}", $"ltft{bank}", "coolant_temp"],
        When = Expr($$"""{"and": [{">": [{"var": "coolant_temp"}, 70]}, {{condition}}]}"""),
        For = holdFor,
    };

    public static IReadOnlyList<AlertRule> All { get; } =
    [
        new()
        {
            Id = "frost", Title = "Frost: the air is at or below 1 degC", Severity = "warning", Requires = ["temperature"],
            When = Expr("""{"<=": [{"var": "temperature"}, 1]}"""), ClearWhen = Expr("""{">=": [{"var": "temperature"}, 2]}"""), For = TimeSpan.FromMinutes(5),
        },
        new()
        {
            Id = "storm", Title = "Storm possible: pressure fell 3 hPa or more in 3 hours", Severity = "warning", Requires = ["pressure_tendency"],
            When = Expr("""{"<=": [{"var": "pressure_tendency"}, -3]}"""), ClearWhen = Expr("""{">": [{"var": "pressure_tendency"}, -1.5]}"""),
        },
        new()
        {
            Id = "heat", Title = "Heat: the heat index is 32 degC or more (extreme caution)", Severity = "warning", Requires = ["heat_index"],
            When = Expr("""{">=": [{"var": "heat_index"}, 32]}"""), ClearWhen = Expr("""{"<": [{"var": "heat_index"}, 30]}"""), For = TimeSpan.FromMinutes(10),
        },
        new()
        {
            Id = "high-wind", Title = "Gale: gusts of 17.2 m/s (Beaufort 8) or more", Severity = "warning", Requires = ["wind_gust"],
            When = Expr("""{">=": [{"var": "wind_gust"}, 17.2]}"""), ClearWhen = Expr("""{"<": [{"var": "wind_gust"}, 14]}"""),
        },
        new()
        {
            Id = "heavy-rain", Title = "Heavy rain: more than 7.6 mm/h for 15 minutes", Severity = "warning", Requires = ["rain_rate"],
            When = Expr("""{">": [{"var": "rain_rate"}, 7.6]}"""), ClearWhen = Expr("""{"<": [{"var": "rain_rate"}, 2.5]}"""), For = TimeSpan.FromMinutes(15),
        },
        new()
        {
            Id = "coolant-hot", Title = "Engine coolant at 110 degC or more", Severity = "warning", Requires = ["coolant_temp"],
            When = Expr("""{">=": [{"var": "coolant_temp"}, 110]}"""), ClearWhen = Expr("""{"<": [{"var": "coolant_temp"}, 105]}"""), For = TimeSpan.FromSeconds(30),
        },
        new()
        {
            Id = "coolant-critical", Title = "Engine overheating (coolant 115 degC or more): stop safely", Severity = "critical", Requires = ["coolant_temp"],
            When = Expr("""{">=": [{"var": "coolant_temp"}, 115]}"""), ClearWhen = Expr("""{"<": [{"var": "coolant_temp"}, 110]}"""), For = TimeSpan.FromSeconds(10),
        },
        new()
        {
            Id = "coolant-rising", Title = "Coolant rising fast (over 5 degC a minute above 100 degC)", Severity = "warning", Requires = ["coolant_temp"],
            When = Expr("""{"and": [{">": [{"var": "coolant_temp"}, 100]}, {">": [{"rate": ["coolant_temp", 1]}, 5]}]}"""),
            ClearWhen = Expr("""{"or": [{"<": [{"var": "coolant_temp"}, 100]}, {"<": [{"rate": ["coolant_temp", 1]}, 2]}]}"""),
        },
        new()
        {
            Id = "thermostat-open", Title = "Thermostat stuck open? Coolant under 70 degC after 15 minutes of driving", Severity = "warning",
            Requires = ["coolant_temp", "run_time", "speed", "ambient_temp"],
            When = Expr("""{"and": [{"<": [{"var": "coolant_temp"}, 70]}, {">=": [{"var": "run_time"}, 900]}, {">": [{"var": "speed"}, 50]}, {">": [{"var": "ambient_temp"}, 0]}]}"""),
            ClearWhen = Expr("""{">=": [{"var": "coolant_temp"}, 75]}"""), For = TimeSpan.FromMinutes(2),
        },
        new()
        {
            // Resting voltage means something only after the surface charge is gone: an hour parked.
            Id = "battery-low", Title = "Battery low at rest (under 12.2 V, about half charged): recharge it", Severity = "warning", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 0]}, {"<": [{"var": "battery_voltage"}, 12.2]}]}"""),
            ClearWhen = Expr("""{"or": [{">": [{"var": "battery_voltage"}, 12.4]}, {"==": [{"var": "engine_running"}, 1]}]}"""), For = TimeSpan.FromHours(1),
        },
        new()
        {
            Id = "battery-flat", Title = "Battery discharged (under 11.9 V at rest): the engine may not start", Severity = "critical", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 0]}, {"<": [{"var": "battery_voltage"}, 11.9]}]}"""),
            ClearWhen = Expr("""{"or": [{">": [{"var": "battery_voltage"}, 12.1]}, {"==": [{"var": "engine_running"}, 1]}]}"""), For = TimeSpan.FromMinutes(30),
        },
        new()
        {
            Id = "not-charging", Title = "Not charging: under 13.2 V with the engine running (alternator, belt or regulator)", Severity = "critical", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 1]}, {"<": [{"var": "battery_voltage"}, 13.2]}]}"""),
            ClearWhen = Expr("""{"or": [{">": [{"var": "battery_voltage"}, 13.4]}, {"==": [{"var": "engine_running"}, 0]}]}"""), For = TimeSpan.FromMinutes(2),
        },
        new()
        {
            Id = "overcharging", Title = "Overcharging: over 15 V with the engine running (voltage regulator fault)", Severity = "critical", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 1]}, {">": [{"var": "battery_voltage"}, 15.0]}]}"""),
            ClearWhen = Expr("""{"or": [{"<": [{"var": "battery_voltage"}, 14.8]}, {"==": [{"var": "engine_running"}, 0]}]}"""), For = TimeSpan.FromSeconds(30),
        },
        FuelTrim("fuel-trim", "1", "warning", """{"or": [{">": [{"abs": {"var": "ltft1"}}, 10]}, {">": [{"abs": {"+": [{"var": "stft1"}, {"var": "ltft1"}]}}, 15]}]}""", TimeSpan.FromMinutes(5)),
        FuelTrim("fuel-trim-critical", "1", "critical", """{">": [{"abs": {"+": [{"var": "stft1"}, {"var": "ltft1"}]}}, 25]}""", TimeSpan.FromMinutes(1)),
        FuelTrim("fuel-trim-bank2", "2", "warning", """{"or": [{">": [{"abs": {"var": "ltft2"}}, 10]}, {">": [{"abs": {"+": [{"var": "stft2"}, {"var": "ltft2"}]}}, 15]}]}""", TimeSpan.FromMinutes(5)),
        FuelTrim("fuel-trim-bank2-critical", "2", "critical", """{">": [{"abs": {"+": [{"var": "stft2"}, {"var": "ltft2"}]}}, 25]}""", TimeSpan.FromMinutes(1)),
        new()
        {
            Id = "low-fuel", Title = "Fuel low (under 15 %)", Severity = "warning", Requires = ["fuel_level"],
            When = Expr("""{"<": [{"var": "fuel_level"}, 15]}"""), ClearWhen = Expr("""{">": [{"var": "fuel_level"}, 18]}"""), For = TimeSpan.FromMinutes(1),
        },
        new()
        {
            Id = "fuel-very-low", Title = "Fuel very low (under 8 %)", Severity = "critical", Requires = ["fuel_level"],
            When = Expr("""{"<": [{"var": "fuel_level"}, 8]}"""), ClearWhen = Expr("""{">": [{"var": "fuel_level"}, 10]}"""), For = TimeSpan.FromMinutes(1),
        },
        new()
        {
            Id = "oil-hot", Title = "Engine oil over 130 degC", Severity = "warning", Requires = ["oil_temp"],
            When = Expr("""{">": [{"var": "oil_temp"}, 130]}"""), ClearWhen = Expr("""{"<": [{"var": "oil_temp"}, 125]}"""), For = TimeSpan.FromSeconds(30),
        },
        new()
        {
            Id = "mil-on", Title = "Check-engine lamp (MIL) on", Severity = "warning", Requires = ["mil"],
            When = Expr("""{"==": [{"var": "mil"}, 1]}"""), StaleAfter = TimeSpan.FromDays(1),
        },
        new()
        {
            Id = "mil-overdue", Title = "Repair overdue: over 100 km driven with the check-engine lamp on", Severity = "critical", Requires = ["distance_with_mil"],
            When = Expr("""{">": [{"var": "distance_with_mil"}, 100]}"""), StaleAfter = TimeSpan.FromDays(1),
        },
        new()
        {
            Id = "trouble-code", Title = "Stored trouble codes", Severity = "warning", Requires = ["dtc_count"],
            When = Expr("""{">": [{"var": "dtc_count"}, 0]}"""), StaleAfter = TimeSpan.FromDays(1),
        },
        new()
        {
            // dtc_new is the number of codes in the latest read that the vehicle had not reported in the 30 days before.
            Id = "new-trouble-code", Title = "New trouble code (see the vehicle page)", Severity = "warning", Requires = ["dtc_new"],
            When = Expr("""{">": [{"var": "dtc_new"}, 0]}"""), StaleAfter = TimeSpan.FromDays(1),
        },
        new()
        {
            Id = "service-due", Title = "Service due (see the vehicle page's maintenance list)", Severity = "info", Requires = ["service_due"],
            When = Expr("""{">": [{"var": "service_due"}, 0]}"""), StaleAfter = TimeSpan.FromDays(30),
        },
        new()
        {
            Id = "device-stale", Title = "No reading from the device for 30 minutes", Severity = "warning", NoDataFor = TimeSpan.FromMinutes(30),
        },
        new()
        {
            Id = "outbox-dropping", Title = "The device dropped readings (buffer full or too old)", Severity = "warning", Requires = ["dropped_readings"],
            When = Expr("""{">": [{"var": "dropped_readings"}, 0]}"""), StaleAfter = TimeSpan.FromDays(7),
        },
    ];
}
