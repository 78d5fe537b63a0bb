using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Intelligence.Alerts;

namespace Grid.Edge.Hub.Alerts;

/// <summary>A place alerts are pushed to (an ntfy topic, a Gotify or home-made HTTP endpoint).</summary>
internal sealed record Webhook(string Name, Uri Url, IReadOnlyList<string> Severities, string Format, IReadOnlyList<double> RetrySeconds);

/// <summary>One delivery attempt, for the log people read when a notification did not arrive.</summary>
internal sealed record Delivery(DateTimeOffset At, string Webhook, string RuleId, string Subject, string State, int Attempt, bool Delivered, string Outcome);

/// <summary>
/// Sends alert changes to the webhooks configured in <c>&lt;data-dir&gt;/notifications.json</c> - and nowhere else.
/// Each change is retried with growing waits when the receiver is down or answers with an error; every attempt is
/// kept in a log (the newest 500) shown by the API.
/// </summary>
internal sealed class WebhookNotifier(IReadOnlyList<Webhook> webhooks, HttpClient http, TimeProvider time, ILogger<WebhookNotifier> logger) : BackgroundService
{
    public const string FileName = "notifications.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Channel<(Webhook Hook, Alert Alert)> _queue = Channel.CreateBounded<(Webhook, Alert)>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly ConcurrentQueue<Delivery> _log = new();

    public IReadOnlyList<Webhook> Webhooks => webhooks;

    /// <summary>Delivery attempts, newest first.</summary>
    public IReadOnlyList<Delivery> Log => _log.Reverse().ToList();

    /// <summary>Queues an alert change for every webhook that wants its severity. Acknowledgements are not pushed.</summary>
    public void Notify(Alert alert)
    {
        if (alert.State == AlertState.Acknowledged)
            return;
        foreach (var hook in webhooks.Where(h => h.Severities.Contains(alert.Severity, StringComparer.Ordinal)))
            _queue.Writer.TryWrite((hook, alert));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = new List<Task>();
        try
        {
            await foreach (var (hook, alert) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                running.RemoveAll(t => t.IsCompleted);
                running.Add(DeliverAsync(hook, alert, stoppingToken));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(running).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    private async Task DeliverAsync(Webhook hook, Alert alert, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= hook.RetrySeconds.Count + 1; attempt++)
        {
            string outcome;
            var delivered = false;
            try
            {
                using var request = Request(hook, alert);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(15));
                using var response = await http.SendAsync(request, timeout.Token);
                delivered = response.IsSuccessStatusCode;
                outcome = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                outcome = e is TaskCanceledException ? "no answer within 15 s" : e.Message;
            }

            Record(new Delivery(time.GetUtcNow(), hook.Name, alert.RuleId, alert.Subject, alert.State.ToString().ToLowerInvariant(), attempt, delivered, outcome));
            if (delivered)
                return;
            if (attempt > hook.RetrySeconds.Count)
            {
                logger.LogWarning("Webhook {Name} did not take alert {Rule}/{Subject} after {Attempts} attempts ({Outcome})", hook.Name, alert.RuleId, alert.Subject, attempt, outcome);
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(hook.RetrySeconds[attempt - 1]), time, cancellationToken);
        }
    }

    private static HttpRequestMessage Request(Webhook hook, Alert alert)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, hook.Url);
        if (hook.Format == "ntfy")
        {
            // ntfy: the body is the message, the title and priority go in headers.
            var text = alert.State == AlertState.Resolved ? $"Resolved: {alert.Title} ({alert.Subject})" : $"{alert.Title} ({alert.Subject})";
            request.Content = new StringContent(text, Encoding.UTF8, "text/plain");
            request.Headers.Add("Title", "Grid.Edge " + alert.Severity);
            request.Headers.Add("Priority", alert.State == AlertState.Resolved ? "2" : alert.Severity == "critical" ? "5" : "4");
            request.Headers.Add("Tags", alert.State == AlertState.Resolved ? "white_check_mark" : "warning");
        }
        else
        {
            request.Content = JsonContent.Create(alert, options: Json);
        }

        return request;
    }

    private void Record(Delivery delivery)
    {
        _log.Enqueue(delivery);
        while (_log.Count > 500)
            _log.TryDequeue(out _);
    }

    private sealed record Entry(string? Name, string? Url, string[]? Severities, string? Format, double[]? RetrySeconds);

    private sealed record FileShape(List<Entry>? Webhooks);

    /// <summary>Reads the notifications file; none configured means nothing is ever sent.</summary>
    public static IReadOnlyList<Webhook> Load(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path))
            return [];
        FileShape? file;
        try
        {
            file = JsonSerializer.Deserialize<FileShape>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new HubConfigurationException($"{path} is not valid: {e.Message}");
        }

        var hooks = new List<Webhook>();
        foreach (var entry in file?.Webhooks ?? [])
        {
            var name = entry.Name ?? "webhook";
            if (!Uri.TryCreate(entry.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
                throw new HubConfigurationException($"{path}: webhook '{name}' needs an http(s) Url");
            var format = entry.Format ?? "json";
            if (format is not ("json" or "ntfy"))
                throw new HubConfigurationException($"{path}: webhook '{name}': Format must be json or ntfy");
            var retries = entry.RetrySeconds ?? [5, 30, 120, 600];
            if (retries.Any(r => r is <= 0 or > 86_400) || retries.Length > 20)
                throw new HubConfigurationException($"{path}: webhook '{name}': RetrySeconds must be up to 20 waits of 0-86400 s");
            hooks.Add(new Webhook(name, url, entry.Severities ?? ["warning", "critical"], format, retries));
        }

        return hooks;
    }
}
