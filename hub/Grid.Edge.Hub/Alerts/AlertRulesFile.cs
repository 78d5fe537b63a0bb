using System.Text.Json;
using System.Text.Json.Nodes;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Intelligence.Alerts;

namespace Grid.Edge.Hub.Alerts;

/// <summary>
/// The rules file, <c>&lt;data-dir&gt;/alert-rules.json</c>: a JSON array of rules. A rule with the id of a built-in one
/// replaces it (<c>"Enabled": false</c> turns it off); others are added. Every problem is reported with the rule's id.
/// </summary>
internal static class AlertRulesFile
{
    public const string FileName = "alert-rules.json";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private sealed record Entry(
        string? Id,
        string? Title,
        string? Severity,
        string? Devices,
        string[]? Requires,
        JsonNode? When,
        JsonNode? ClearWhen,
        double? ForSeconds,
        double? StaleAfterMinutes,
        double? NoDataForMinutes,
        string? Metric,
        bool? Enabled);

    public static IReadOnlyList<AlertRule> Load(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        var rules = DefaultAlertRules.All.ToDictionary(r => r.Id, StringComparer.Ordinal);
        if (File.Exists(path))
        {
            List<Entry>? entries;
            try
            {
                entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(path), Options);
            }
            catch (JsonException e)
            {
                throw new HubConfigurationException($"{path} is not a JSON array of alert rules: {e.Message}");
            }

            var problems = new List<string>();
            foreach (var entry in entries ?? [])
            {
                if (string.IsNullOrWhiteSpace(entry.Id))
                {
                    problems.Add("a rule has no Id");
                    continue;
                }

                rules.TryGetValue(entry.Id, out var builtIn);
                if (entry.Enabled == false)
                {
                    rules.Remove(entry.Id);
                    continue;
                }

                var rule = new AlertRule
                {
                    Id = entry.Id,
                    Title = entry.Title ?? builtIn?.Title ?? entry.Id,
                    Severity = entry.Severity ?? builtIn?.Severity ?? "warning",
                    Devices = entry.Devices ?? builtIn?.Devices ?? "*",
                    Requires = entry.Requires ?? builtIn?.Requires ?? (entry.When is null ? [] : JsonLogic.Variables(entry.When).Distinct().ToArray()),
                    When = entry.When ?? (entry.NoDataForMinutes is null ? builtIn?.When : null),
                    ClearWhen = entry.ClearWhen ?? (entry.When is null ? builtIn?.ClearWhen : null),
                    For = entry.ForSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : builtIn?.For ?? TimeSpan.Zero,
                    StaleAfter = entry.StaleAfterMinutes is { } stale ? TimeSpan.FromMinutes(stale) : builtIn?.StaleAfter ?? TimeSpan.FromMinutes(15),
                    NoDataFor = entry.NoDataForMinutes is { } silent ? TimeSpan.FromMinutes(silent) : entry.When is null ? builtIn?.NoDataFor : null,
                    Metric = entry.Metric ?? builtIn?.Metric ?? string.Empty,
                };
                problems.AddRange(rule.Validate());
                rules[rule.Id] = rule;
            }

            if (problems.Count > 0)
                throw new HubConfigurationException($"{path}: " + string.Join("; ", problems));
        }

        return [.. rules.Values];
    }
}
