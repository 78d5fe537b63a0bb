using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Protocol.Files;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Topics;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Keeps the broker's retained messages (device status among them) in <c>&lt;data-dir&gt;/retained.json</c> so a
/// restart does not forget them. Changes are written at most once a second and at shutdown, each time to a
/// temporary file that replaces the old one, so a crash leaves either the old or the new file, never half.
/// </summary>
internal sealed class RetainedMessageFile(
    MqttServer server,
    HubOptions options,
    DeviceRegistry devices,
    ReadingDecoder decoder,
    RetainedQuota quota,
    ILogger<RetainedMessageFile> logger) : BackgroundService
{
    public const string FileName = "retained.json";
    private static readonly TimeSpan WriteInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Hosting.ServiceFaults _faults = new(logger, TimeProvider.System);
    private List<MqttApplicationMessage>? _pending;

    private string Path => System.IO.Path.Combine(options.DataDir, FileName);

    public void Attach()
    {
        server.LoadingRetainedMessageAsync += LoadAsync;
        server.RetainedMessageChangedAsync += args =>
        {
            lock (_gate)
                _pending = args.StoredRetainedMessages;
            return Task.CompletedTask;
        };
        server.RetainedMessagesClearedAsync += _ =>
        {
            quota.Clear();
            lock (_gate)
                _pending = [];
            return Task.CompletedTask;
        };
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(WriteInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                Flush();
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Flush();
    }

    private void Flush()
    {
        List<MqttApplicationMessage>? messages;
        lock (_gate)
        {
            messages = _pending;
            _pending = null;
        }

        if (messages is null)
            return;
        try
        {
            var entries = messages.Select(m => new Entry(m.Topic, m.Payload.ToArray(), (int)m.QualityOfServiceLevel)).ToList();
            DurableFile.Write(Path, stream => JsonSerializer.Serialize(stream, entries, EntryJson.Default.ListEntry));
        }
        catch (Exception ex) when (_faults.Outlive(ex, $"to save the retained messages to {Path}"))
        {
            lock (_gate)
                _pending ??= messages;
        }
    }

    private Task LoadAsync(LoadingRetainedMessagesEventArgs args)
    {
        if (!File.Exists(Path))
            return Task.CompletedTask;
        List<Entry>? entries;
        try
        {
            using var stream = File.OpenRead(Path);
            entries = JsonSerializer.Deserialize(stream, EntryJson.Default.ListEntry);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            var aside = DurableFile.SetAside(Path);
            logger.LogWarning("Retained messages in {Path} are unreadable ({Reason}); moved to {Aside} and starting without them", Path, ex.Message, aside);
            return Task.CompletedTask;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var entry in entries ?? [])
        {
            if (string.IsNullOrEmpty(entry.Topic) || entry.Topic.Contains('#', StringComparison.Ordinal) || entry.Topic.Contains('+', StringComparison.Ordinal) || entry.Qos is < 0 or > 2)
                continue;
            args.LoadedRetainedMessages.Add(new MqttApplicationMessageBuilder()
                .WithTopic(entry.Topic)
                .WithPayload(entry.Payload ?? [])
                .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)entry.Qos)
                .WithRetainFlag()
                .Build());

            // The last status each device reported is known again before it reconnects.
            if ((entry.Topic.EndsWith("/" + GridTopic.StatusSegment, StringComparison.Ordinal) || entry.Topic.EndsWith("/" + GridTopic.AgentSegment, StringComparison.Ordinal)) && GridTopic.IsGridTopic(entry.Topic))
            {
                var decoded = decoder.Decode(entry.Topic, new ReadOnlySequence<byte>(entry.Payload ?? []), now);
                if (decoded is { Device: { } device, Status: { } status })
                    devices.Restore(device, status);
                if (decoded is { Device: { } agentDevice, Agent: { } report })
                    devices.SetAgent(agentDevice, report, null);
            }
        }

        quota.Seed(args.LoadedRetainedMessages.Select(m => m.Topic));
        logger.LogInformation("Loaded {Count} retained messages from {Path}", args.LoadedRetainedMessages.Count, Path);
        return Task.CompletedTask;
    }

    internal sealed record Entry(string Topic, byte[]? Payload, int Qos);
}

[JsonSerializable(typeof(List<RetainedMessageFile.Entry>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class EntryJson : JsonSerializerContext;
