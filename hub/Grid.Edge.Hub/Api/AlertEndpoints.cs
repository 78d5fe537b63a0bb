using Grid.Edge.Hub.Alerts;
using Grid.Edge.Hub.Intelligence.Alerts;

namespace Grid.Edge.Hub.Api;

internal sealed record AlertsResponse(IReadOnlyList<Alert> Active, IReadOnlyList<Alert> History, IReadOnlyList<AlertRuleResponse> Rules);

internal sealed record AlertRuleResponse(string Id, string Title, string Severity, string Devices, string? When, string? ClearWhen, double ForSeconds, double? NoDataForMinutes);

internal static class AlertEndpoints
{
    // Conditions are shown to people: keep < > & as they are written in the rules file.
    private static readonly System.Text.Json.JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Map(WebApplication app)
    {
        app.MapGet("/api/alerts", (AlertService alerts, int? history) => new AlertsResponse(
                alerts.Active,
                alerts.History.Take(Math.Clamp(history ?? 100, 0, 500)).ToList(),
                alerts.Rules.Select(r => new AlertRuleResponse(r.Id, r.Title, r.Severity, r.Devices, r.When?.ToJsonString(Readable), r.ClearWhen?.ToJsonString(Readable), r.For.TotalSeconds, r.NoDataFor?.TotalMinutes)).ToList()))
            .Produces<AlertsResponse>()
            .WithSummary("Active alerts (firing or acknowledged), the most recently resolved (?history=, 100 by default, at most 500), and the rules in force. Kept across restarts in <data-dir>/alerts.json.");

        app.MapGet("/api/alerts/deliveries", (WebhookNotifier notifier) => new
            {
                Webhooks = notifier.Webhooks.Select(w => new { w.Name, Url = SchemeAndHost(w.Url), w.Severities, w.Format }),
                Deliveries = notifier.Log,
            })
            .WithSummary("Configured webhooks (scheme and host only: a path such as an ntfy topic is the secret) and every delivery attempt (newest first, up to 500): when, to whom, which alert, HTTP status or error.");

        app.MapPost("/api/alerts/{rule}/{device}/ack", async (string rule, string device, AlertService alerts) =>
                await alerts.AcknowledgeAsync(rule, device) is { } alert ? Results.Ok(alert) : Results.NotFound(new ErrorResponse($"no active alert '{rule}' for '{device}'")))
            .WithSummary("Acknowledges an active alert: it stays until its condition clears, shown as seen.");
    }

    /// <summary>Where a webhook goes, without the path, query or user info that may carry its secret.</summary>
    internal static string SchemeAndHost(Uri url) => url.IsDefaultPort ? $"{url.Scheme}://{url.Host}" : $"{url.Scheme}://{url.Host}:{url.Port}";
}
