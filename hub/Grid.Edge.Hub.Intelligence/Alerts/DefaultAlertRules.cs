using System.Text.Json.Nodes;

namespace Grid.Edge.Hub.Intelligence.Alerts;

/// <summary>
/// The rules a hub starts with (thresholds from shared reference weather.md section 8 and common vehicle practice).
/// A rules file can change or disable any of them by id, and add more.
/// </summary>
public static class DefaultAlertRules
{
    private static JsonNode Expr(string json) => JsonNode.Parse(json)!;

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
            Id = "coolant-hot", Title = "Engine coolant over 105 degC", Severity = "critical", Requires = ["coolant_temp"],
            When = Expr("""{">=": [{"var": "coolant_temp"}, 105]}"""), ClearWhen = Expr("""{"<": [{"var": "coolant_temp"}, 100]}"""), For = TimeSpan.FromSeconds(30),
        },
        new()
        {
            Id = "battery-low", Title = "Battery low at rest (under 12.2 V): it may not start the engine", Severity = "warning", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 0]}, {"<": [{"var": "battery_voltage"}, 12.2]}]}"""),
            ClearWhen = Expr("""{"or": [{">": [{"var": "battery_voltage"}, 12.4]}, {"==": [{"var": "engine_running"}, 1]}]}"""), For = TimeSpan.FromMinutes(10),
        },
        new()
        {
            Id = "not-charging", Title = "Not charging: under 13 V with the engine running", Severity = "critical", Requires = ["battery_voltage", "engine_running"],
            When = Expr("""{"and": [{"==": [{"var": "engine_running"}, 1]}, {"<": [{"var": "battery_voltage"}, 13.0]}]}"""),
            ClearWhen = Expr("""{"or": [{">": [{"var": "battery_voltage"}, 13.3]}, {"==": [{"var": "engine_running"}, 0]}]}"""), For = TimeSpan.FromMinutes(2),
        },
        new()
        {
            Id = "mil-on", Title = "Check-engine lamp (MIL) on", Severity = "warning", Requires = ["mil"],
            When = Expr("""{"==": [{"var": "mil"}, 1]}"""), StaleAfter = TimeSpan.FromDays(1),
        },
        new()
        {
            Id = "trouble-code", Title = "Stored trouble codes", Severity = "warning", Requires = ["dtc_count"],
            When = Expr("""{">": [{"var": "dtc_count"}, 0]}"""), StaleAfter = TimeSpan.FromDays(1),
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
