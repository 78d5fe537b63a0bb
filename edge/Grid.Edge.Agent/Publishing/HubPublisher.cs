using System.Reflection;
using System.Text.Json;
using Grid.Edge.Agent.Configuration;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Protocol.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Grid.Edge.Agent.Publishing;

/// <summary>
/// Sends the outbox to the hub, oldest first, in QoS 1 batches over MQTT 5, and deletes a batch only after its
/// PUBACK (which the hub sends once the readings are durable). After an outage the backlog goes out at a bounded
/// pace. Reports the agent's own status, retained, on grid/&lt;device&gt;/agent; its last will marks it offline.
/// </summary>
internal sealed class HubPublisher(
    AgentOptions options,
    SqliteOutbox outbox,
    ReadingInbox queue,
    AgentState state,
    TimeProvider time,
    ILogger<HubPublisher> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions StatusJson = new(JsonSerializerDefaults.Web);
    private static readonly string Version = typeof(HubPublisher).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private DateTimeOffset _nextStatus = DateTimeOffset.MinValue;
    private DateTimeOffset _nextAgeCheck = DateTimeOffset.MinValue;
    private int _batchLimit = options.Outbox.BatchReadings;
    private bool _columns = options.Outbox.Columns;
    private bool _retryAsJson;

    /// <summary>Readings the hub acknowledged since start.</summary>
    public long Sent { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wait = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!_client.IsConnected)
                {
                    await ConnectAsync(stoppingToken);
                    wait = TimeSpan.FromSeconds(1);
                }

                await HousekeepingAsync(stoppingToken);
                if (!await SendOneBatchAsync(stoppingToken))
                    await Task.Delay(TimeSpan.FromMilliseconds(200), time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Adapter.MqttConnectingFailedException or OperationCanceledException or HubRefusedException or System.Net.Sockets.SocketException)
            {
                var reason = e is HubRefusedException ? e.Message : $"the hub at {options.HubHost}:{options.HubMqttPort} is unreachable ({e.Message})";
                if (state.HubError != reason)
                    logger.LogWarning("{Reason}; readings wait in the outbox ({Count}); trying again in {Wait:0} s", reason, outbox.Count, wait.TotalSeconds);
                state.SetLink("disconnected", reason);
                await HousekeepingAsync(stoppingToken, hubAvailable: false);
                try
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }

        if (_client.IsConnected)
        {
            try
            {
                await PublishStatusAsync("stopped", CancellationToken.None);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), CancellationToken.None);
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException)
            {
                logger.LogDebug("Disconnect on shutdown failed: {Error}", e.Message);
            }
        }
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var (user, password, host, port) = Credentials();

        // The hub takes a user's client ids as its user name or "<user>:<anything>"; a paired device's user is its id.
        var clientId = user.Length == 0 || user == options.DeviceId ? options.DeviceId : user + ":" + options.DeviceId;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithWillTopic(GridTopic.StatusTopic(options.DeviceId))
            .WithWillPayload("offline"u8.ToArray())
            .WithWillRetain()
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (user.Length > 0)
            builder.WithCredentials(user, password);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        var result = await _client.ConnectAsync(builder.Build(), timeout.Token);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new HubRefusedException(result.ResultCode is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized
                ? $"the hub refused the device's credentials ({result.ResultCode}); pair it again with 'grid-agent pair'"
                : $"the hub refused the connection ({result.ResultCode})");
        }

        await PublishAsync(GridTopic.StatusTopic(options.DeviceId), "online"u8.ToArray(), retain: true, cancellationToken);
        _columns = options.Outbox.Columns;
        state.SetLink("connected", null);
        _nextStatus = DateTimeOffset.MinValue;
        logger.LogInformation("Connected to the hub at {Host}:{Port} as {Device}; {Count} readings waiting", host, port, options.DeviceId, outbox.Count);
    }

    /// <summary>Configured credentials win; otherwise those saved by "grid-agent pair" (with the hub they came from).</summary>
    private (string User, string Password, string Host, int Port) Credentials()
    {
        if (options.User.Length > 0)
            return (options.User, options.Password, options.HubHost, options.HubMqttPort);
        var paired = PairedCredentials.Load(options.DataDir);
        if (paired is null)
            return (string.Empty, string.Empty, options.HubHost, options.HubMqttPort);
        if (paired.DeviceId != options.DeviceId)
            throw new HubRefusedException($"the saved credentials are for device '{paired.DeviceId}', not '{options.DeviceId}'; pair again or fix Agent:DeviceId");
        return (paired.User, paired.Password, paired.HubHost, paired.HubMqttPort);
    }

    /// <summary>Sends the oldest batch; false when there was nothing to send.</summary>
    private async Task<bool> SendOneBatchAsync(CancellationToken cancellationToken)
    {
        var batch = outbox.Peek(_batchLimit);
        if (batch.Count == 0)
            return false;
        var started = time.GetTimestamp();
        var count = 0;
        var retry = _retryAsJson;
        _retryAsJson = false;
        var columns = _columns && !retry ? BatchPayload.WriteColumns(batch, options.Outbox.MaxBatchBytes, out count) : null;
        var payload = columns ?? BatchPayload.Write(batch, options.Outbox.MaxBatchBytes, out count);
        var result = await PublishAsync(columns is null ? GridTopic.BatchTopic(options.DeviceId) : GridTopic.ColumnsTopic(options.DeviceId), payload, retain: false, cancellationToken);
        switch (result.ReasonCode)
        {
            case MqttClientPublishReasonCode.Success:
            case MqttClientPublishReasonCode.NoMatchingSubscribers:
                if (retry)
                {
                    // Taken as JSON, refused as columns: this hub does not know columns messages.
                    _columns = false;
                    logger.LogInformation("The hub takes as JSON what it refused as a columns message; sending JSON batches on this connection");
                }

                _batchLimit = Math.Min(options.Outbox.BatchReadings, _batchLimit * 2);
                break;
            case MqttClientPublishReasonCode.PayloadFormatInvalid when count > 1:
                // The hub used none of it: maybe one bad reading, maybe a limit. Halve and try again, so that only
                // readings refused on their own are ever dropped.
                _batchLimit = Math.Max(1, count / 2);
                return true;
            case MqttClientPublishReasonCode.PayloadFormatInvalid when columns is not null:
                // A single reading refused as a columns message: a bad reading, or a hub that does not know columns
                // messages (it takes "columns" for a metric name). It goes again as JSON, whose answer tells which.
                _retryAsJson = true;
                return true;
            case MqttClientPublishReasonCode.PayloadFormatInvalid:
                logger.LogWarning("The hub refused the reading {Metric}={Value} at {Time} ({Reason}); it is dropped, see the hub's /api/ingest/rejections", batch[0].Reading.Metric, batch[0].Reading.Value, batch[0].Reading.TimestampMs, result.ReasonString);
                break;
            default:
                throw new HubRefusedException($"the hub did not accept a batch: {result.ReasonCode} {result.ReasonString}");
        }

        outbox.Remove(batch[count - 1].Id);
        Sent += count;

        // Pace the backlog: a batch of N readings takes at least N / rate seconds.
        var minimum = TimeSpan.FromSeconds((double)count / options.Outbox.BackfillReadingsPerSecond);
        var spent = time.GetElapsedTime(started);
        if (spent < minimum)
            await Task.Delay(minimum - spent, time, cancellationToken);
        return true;
    }

    private async Task HousekeepingAsync(CancellationToken cancellationToken, bool hubAvailable = true)
    {
        var now = time.GetUtcNow();
        if (now >= _nextAgeCheck)
        {
            _nextAgeCheck = now.AddMinutes(1);
            var dropped = outbox.EnforceAge();
            if (dropped > 0)
                logger.LogWarning("Dropped {Count} readings older than {Days} days from the outbox (counted in dropped_readings)", dropped, options.Outbox.MaxAgeDays);
        }

        if (now < _nextStatus)
            return;
        _nextStatus = now.AddSeconds(options.StatusIntervalSeconds);
        var ms = now.ToUnixTimeMilliseconds();
        var oldest = outbox.OldestTimestampMs;
        queue.Add(new OutboxReading("outbox_depth", outbox.Count, string.Empty, ms));
        queue.Add(new OutboxReading("outbox_oldest_age", oldest is { } t ? Math.Max(0, (ms - t) / 1000.0) : 0, "s", ms));
        queue.Add(new OutboxReading("dropped_readings", outbox.Dropped, string.Empty, ms));
        if (hubAvailable && _client.IsConnected)
            await PublishStatusAsync(state.Link, cancellationToken);
    }

    private async Task PublishStatusAsync(string link, CancellationToken cancellationToken)
    {
        var vehicle = state.Vehicle;
        var status = new AgentStatus(link, outbox.Count, outbox.OldestTimestampMs, outbox.Dropped, vehicle?.Error ?? state.SensorProblem ?? state.HubError, vehicle?.State, Version);
        await PublishAsync(GridTopic.AgentTopic(options.DeviceId), JsonSerializer.SerializeToUtf8Bytes(status, StatusJson), retain: true, cancellationToken);
    }

    private async Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        return await _client.PublishAsync(message, timeout.Token);
    }

    private sealed class HubRefusedException(string message) : Exception(message);
}
