using System.Text.Json.Nodes;

namespace Grid.Edge.Hub.Intelligence.Alerts;

/// <summary>
/// One alert rule. A condition rule fires for a device (the subject) when <see cref="When"/> (JSON-Logic over the
/// device's latest values) has held for <see cref="For"/>, and resolves when <see cref="ClearWhen"/> holds (hysteresis:
/// e.g. fire above 105 degC, clear below 100) or, without one, when <see cref="When"/> stops holding. A staleness
/// rule (<see cref="NoDataFor"/>) fires when nothing (or nothing of <see cref="Metric"/>) came from a device for that
/// long. Values older than <see cref="StaleAfter"/> are null in conditions, so stale data never counts as live.
/// </summary>
public sealed record AlertRule
{
    public required string Id { get; init; }

    public required string Title { get; init; }

    /// <summary>info, warning or critical.</summary>
    public string Severity { get; init; } = "warning";

    /// <summary>Which devices it applies to: "*" or a name with * wildcards.</summary>
    public string Devices { get; init; } = "*";

    /// <summary>The rule applies only to devices that have every one of these series (keeps a vehicle rule off weather stations).</summary>
    public IReadOnlyList<string> Requires { get; init; } = [];

    public JsonNode? When { get; init; }

    public JsonNode? ClearWhen { get; init; }

    public TimeSpan For { get; init; }

    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(15);

    public TimeSpan? NoDataFor { get; init; }

    /// <summary>With <see cref="NoDataFor"/>: the one series to watch; empty watches the whole device.</summary>
    public string Metric { get; init; } = string.Empty;

    /// <summary>Problems with the rule (unknown operators, neither a condition nor staleness), or an empty list.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Id) || !Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            problems.Add($"alert rule id '{Id}' must be 1-64 of A-Z a-z 0-9 _ . -");
        if (Severity is not ("info" or "warning" or "critical"))
            problems.Add($"alert rule '{Id}': Severity must be info, warning or critical");
        if ((When is null) == (NoDataFor is null))
            problems.Add($"alert rule '{Id}': give either When (a condition) or NoDataFor (staleness)");
        if (JsonLogic.Validate(When) is { } whenProblem)
            problems.Add($"alert rule '{Id}' When: {whenProblem}");
        if (JsonLogic.Validate(ClearWhen) is { } clearProblem)
            problems.Add($"alert rule '{Id}' ClearWhen: {clearProblem}");
        if (For < TimeSpan.Zero || StaleAfter <= TimeSpan.Zero || NoDataFor <= TimeSpan.Zero)
            problems.Add($"alert rule '{Id}': durations must be positive");
        return problems;
    }

    public bool AppliesTo(string device) => Matches(Devices, device);

    private static bool Matches(string pattern, string text)
    {
        if (pattern == "*")
            return true;
        var parts = pattern.Split('*');
        if (parts.Length == 1)
            return pattern == text;
        if (!text.StartsWith(parts[0], StringComparison.Ordinal) || !text.EndsWith(parts[^1], StringComparison.Ordinal))
            return false;
        var at = parts[0].Length;
        foreach (var middle in parts[1..^1])
        {
            var found = text.IndexOf(middle, at, StringComparison.Ordinal);
            if (found < 0)
                return false;
            at = found + middle.Length;
        }

        return at <= text.Length - parts[^1].Length;
    }
}
