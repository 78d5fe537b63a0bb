using System.Text.Json.Serialization;

namespace Grid.Edge.Hub.Intelligence.Alerts;

/// <summary>Where an alert is in its life; written as "firing", "acknowledged", "resolved".</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertState>))]
public enum AlertState
{
    [JsonStringEnumMemberName("firing")]
    Firing,

    [JsonStringEnumMemberName("acknowledged")]
    Acknowledged,

    [JsonStringEnumMemberName("resolved")]
    Resolved,
}

/// <summary>An alert of one rule for one device, and its history.</summary>
public sealed record Alert(
    string RuleId,
    string Subject,
    string Title,
    string Severity,
    AlertState State,
    DateTimeOffset FiredAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? ResolvedAt,
    IReadOnlyDictionary<string, double> Values);

/// <summary>The latest reading of a series: its value and when it was taken (Unix ms).</summary>
public readonly record struct Latest(double Value, long TimestampMs);

/// <summary>
/// Evaluates alert rules against devices' latest values and keeps the alerts' lifecycle: firing, acknowledged by a
/// person, resolved when the clear condition holds (hysteresis), with a bounded history. Pure apart from the clock,
/// so every rule can be tested with a fake time provider. Not thread-safe: the hub calls it from one loop.
/// </summary>
public sealed class AlertEngine(IReadOnlyList<AlertRule> rules, TimeProvider time, int historyLimit = 500)
{
    private readonly Dictionary<(string Rule, string Subject), DateTimeOffset> _pendingSince = [];
    private readonly Dictionary<(string Rule, string Subject), Alert> _active = [];
    private readonly LinkedList<Alert> _history = new();

    public IReadOnlyList<AlertRule> Rules => rules;

    /// <summary>The rate variables the rules read (<see cref="JsonLogic.RateVariable"/>), for the caller to supply.</summary>
    public IReadOnlyList<string> RateVariables { get; } = rules
        .SelectMany(r => JsonLogic.Variables(r.When).Concat(JsonLogic.Variables(r.ClearWhen)))
        .Where(v => JsonLogic.TryParseRate(v, out _, out _))
        .Distinct(StringComparer.Ordinal)
        .ToList();

    public IReadOnlyList<Alert> Active => _active.Values.OrderBy(a => a.FiredAt).ToList();

    /// <summary>Resolved alerts, newest first.</summary>
    public IReadOnlyList<Alert> History => [.. _history];

    /// <summary>
    /// Evaluates every rule that applies to <paramref name="device"/>. <paramref name="latest"/> gives a series' latest
    /// value, or null when the device has no such series; <paramref name="lastHeard"/> is when the device last sent
    /// anything. Returns the alerts that changed state (to publish).
    /// </summary>
    public IReadOnlyList<Alert> Evaluate(string device, Func<string, Latest?> latest, DateTimeOffset? lastHeard)
    {
        var now = time.GetUtcNow();
        var changed = new List<Alert>();
        foreach (var rule in rules)
        {
            if (!rule.AppliesTo(device) || rule.Requires.Any(m => latest(m) is null))
                continue;
            var key = (rule.Id, device);
            bool holds;
            bool clears;
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            if (rule.NoDataFor is { } silence)
            {
                var heard = rule.Metric.Length > 0 ? latest(rule.Metric) is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l.TimestampMs) : (DateTimeOffset?)null : lastHeard;
                if (heard is null)
                    continue;
                holds = now - heard.Value >= silence;
                clears = !holds;
                values["silent_minutes"] = Math.Round((now - heard.Value).TotalMinutes, 1);
            }
            else
            {
                var unknown = false;
                double? Variable(string name)
                {
                    if (latest(name) is not { } reading || now - DateTimeOffset.FromUnixTimeMilliseconds(reading.TimestampMs) > rule.StaleAfter)
                    {
                        unknown = true;
                        return null;
                    }

                    values[name] = reading.Value;
                    return reading.Value;
                }

                holds = JsonLogic.Truthy(JsonLogic.Evaluate(rule.When, Variable));
                var whenUnknown = unknown;
                unknown = false;
                clears = rule.ClearWhen is null ? !holds && !whenUnknown : JsonLogic.Truthy(JsonLogic.Evaluate(rule.ClearWhen, Variable)) && !unknown;

                // Stale or missing data says nothing: it neither starts nor ends an alert.
                if (whenUnknown)
                    holds = false;
            }

            if (_active.TryGetValue(key, out var alert))
            {
                if (clears)
                {
                    var resolved = alert with { State = AlertState.Resolved, ResolvedAt = now, Values = values.Count > 0 ? values : alert.Values };
                    _active.Remove(key);
                    _history.AddFirst(resolved);
                    while (_history.Count > historyLimit)
                        _history.RemoveLast();
                    changed.Add(resolved);
                }

                continue;
            }

            if (!holds)
            {
                _pendingSince.Remove(key);
                continue;
            }

            if (!_pendingSince.TryGetValue(key, out var since))
                _pendingSince[key] = since = now;
            if (now - since < rule.For)
                continue;
            _pendingSince.Remove(key);
            var fired = new Alert(rule.Id, device, rule.Title, rule.Severity, AlertState.Firing, now, null, null, values);
            _active[key] = fired;
            changed.Add(fired);
        }

        return changed;
    }

    /// <summary>
    /// Takes back the alerts a previous run left (after a restart): active ones of rules that still exist stay active
    /// (a person's acknowledgement included), history is kept. Alerts of rules no longer configured are closed.
    /// </summary>
    public void Restore(IEnumerable<Alert> active, IEnumerable<Alert> history)
    {
        var known = rules.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var alert in history.OrderByDescending(a => a.ResolvedAt ?? a.FiredAt).Take(historyLimit))
            _history.AddLast(alert);
        foreach (var alert in active)
        {
            if (known.Contains(alert.RuleId))
                _active[(alert.RuleId, alert.Subject)] = alert;
            else
                _history.AddFirst(alert with { State = AlertState.Resolved, ResolvedAt = time.GetUtcNow() });
        }

        while (_history.Count > historyLimit)
            _history.RemoveLast();
    }

    /// <summary>A person has seen the alert; it stays until its condition clears. Null when there is no such active alert.</summary>
    public Alert? Acknowledge(string ruleId, string subject)
    {
        if (!_active.TryGetValue((ruleId, subject), out var alert))
            return null;
        if (alert.State == AlertState.Acknowledged)
            return alert;
        var acknowledged = alert with { State = AlertState.Acknowledged, AcknowledgedAt = time.GetUtcNow() };
        _active[(ruleId, subject)] = acknowledged;
        return acknowledged;
    }
}
