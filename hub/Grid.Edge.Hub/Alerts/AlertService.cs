using System.Text.Json;
using System.Threading.Channels;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Intelligence.Alerts;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MQTTnet;

namespace Grid.Edge.Hub.Alerts;

/// <summary>
/// Runs the alert engine in the hub: a device is re-evaluated when its readings (or derived values) are stored, and
/// every device every 15 s for staleness. Each change is published retained on <c>grid/alerts/&lt;rule&gt;/&lt;device&gt;</c>
/// for other tools, and shown in the dashboards' banner through the API.
/// </summary>
internal sealed class AlertService(
    AlertEngine engine,
    ITimeSeriesStore store,
    DeviceRegistry devices,
    MqttServer server,
    WebhookNotifier webhooks,
    AlertStateFile stateFile,
    TimeProvider time,
    ILogger<AlertService> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Channel<string> _dirty = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _sync = new();
    private readonly Hosting.ServiceFaults _faults = new(logger, time);

    public IReadOnlyList<Alert> Active
    {
        get
        {
            lock (_sync)
                return engine.Active;
        }
    }

    public IReadOnlyList<Alert> History
    {
        get
        {
            lock (_sync)
                return engine.History;
        }
    }

    public IReadOnlyList<AlertRule> Rules => engine.Rules;

    /// <summary>
    /// Marks the devices of stored readings for re-evaluation (cheap; never blocks the writer). Readings merged from
    /// another hub raise nothing here: the hub the device reports to raises its alerts, so that one event is not
    /// notified once per hub.
    /// </summary>
    public void OnStored(Readings.ReadingsStored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Origin == Readings.ReadingOrigin.Remote)
            return;
        string? last = null;
        foreach (var reading in stored.Latest())
        {
            if (reading.Series.Device != last)
                _dirty.Writer.TryWrite(last = reading.Series.Device);
        }
    }

    public async Task<Alert?> AcknowledgeAsync(string ruleId, string subject)
    {
        Alert? alert;
        lock (_sync)
        {
            alert = engine.Acknowledge(ruleId, subject);
            if (alert is not null)
                SaveState();
        }

        if (alert is not null)
            await PublishAsync(alert);
        return alert;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var state = stateFile.Load(out var setAside);
        if (setAside is not null)
            logger.LogWarning("The saved alerts in {File} could not be read; moved to {SetAside}, starting without them", stateFile.FilePath, setAside);
        lock (_sync)
            engine.Restore(state.Active, state.History);
        if (state.Active.Count > 0)
            logger.LogInformation("{Count} alerts still active from before the restart", state.Active.Count);
        return base.StartAsync(cancellationToken);
    }

    // Called under _sync after every change: alerts change seldom, and each one matters after a restart.
    private void SaveState()
    {
        try
        {
            stateFile.Save(engine.Active, engine.History);
        }
        catch (Exception e) when (_faults.Outlive(e, $"to save the alerts to {stateFile.FilePath}"))
        {
            // Saved with the next change.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var sweep = new PeriodicTimer(TimeSpan.FromSeconds(15), time);
        var sweepTick = sweep.WaitForNextTickAsync(stoppingToken).AsTask();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var readable = _dirty.Reader.WaitToReadAsync(stoppingToken).AsTask();
                var done = await Task.WhenAny(readable, sweepTick);
                var due = new HashSet<string>(StringComparer.Ordinal);
                if (done == sweepTick)
                {
                    foreach (var device in devices.All())
                        due.Add(device.Device);
                    sweepTick = sweep.WaitForNextTickAsync(stoppingToken).AsTask();
                }

                while (_dirty.Reader.TryRead(out var device))
                    due.Add(device);
                foreach (var device in due)
                {
                    try
                    {
                        await EvaluateAsync(device);
                    }
                    catch (Exception e) when (_faults.Outlive(e, $"to evaluate the alerts of {device}"))
                    {
                        // Evaluated again with its next reading or the next sweep.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task EvaluateAsync(string device)
    {
        var rates = await RatesAsync(device);
        IReadOnlyList<Alert> changed;
        lock (_sync)
        {
            var heard = devices.TryGet(device, out var state) ? state.LastSeen : null;
            changed = engine.Evaluate(device, Latest, heard);
            if (changed.Count > 0)
                SaveState();
        }

        foreach (var alert in changed)
        {
            logger.LogInformation("Alert {Rule} for {Device}: {State} ({Title})", alert.RuleId, alert.Subject, alert.State, alert.Title);
            await PublishAsync(alert);
        }

        Intelligence.Alerts.Latest? Latest(string metric) =>
            rates.TryGetValue(metric, out var rate) ? rate
            : store.TryGetSeries(new SeriesKey(device, metric), out var info) ? new Intelligence.Alerts.Latest(info.LatestValue, info.LatestMs) : null;
    }

    /// <summary>
    /// The rates the rules read for a device: change per minute from the value a window before the latest point (the
    /// newest point between two windows and one window earlier) to the latest, stamped with the latest point's time.
    /// </summary>
    private async Task<Dictionary<string, Intelligence.Alerts.Latest?>> RatesAsync(string device)
    {
        var rates = new Dictionary<string, Intelligence.Alerts.Latest?>(StringComparer.Ordinal);
        foreach (var variable in engine.RateVariables)
        {
            rates[variable] = null;
            if (!JsonLogic.TryParseRate(variable, out var metric, out var minutes) || !store.TryGetSeries(new SeriesKey(device, metric), out var info))
                continue;
            var series = info.Key;
            var window = (long)(minutes * 60_000);
            var earlier = await store.ReadRangeAsync(series, info.LatestMs - (2 * window), info.LatestMs - window + 1, 1, newestFirst: true);
            if (earlier.Count == 1 && info.LatestMs > earlier[0].TimestampMs)
                rates[variable] = new Intelligence.Alerts.Latest((info.LatestValue - earlier[0].Value) / ((info.LatestMs - earlier[0].TimestampMs) / 60_000.0), info.LatestMs);
        }

        return rates;
    }

    private async Task PublishAsync(Alert alert)
    {
        webhooks.Notify(alert);
        if (!server.IsStarted)
            return;
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(GridTopic.AlertTopic(alert.RuleId, alert.Subject))
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(alert, Json))
            .WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        // Injected without session items of its own, the message carries the broker's: that, not the sender id
        // (which any client could send), is what lets it publish where devices may not.
        await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(message) { SenderClientId = Security.ClientIds.Hub });
    }
}
