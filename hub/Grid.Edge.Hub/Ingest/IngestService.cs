using System.Buffers;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Hub.Ingest;

/// <summary>What became of one message.</summary>
/// <param name="Stored">Readings that are now on disk (new or changed points).</param>
/// <param name="Duplicates">Readings already stored with the same value.</param>
/// <param name="Rejected">Readings (or messages) refused, each recorded with its reason.</param>
internal readonly record struct IngestOutcome(int Stored, int Duplicates, int Rejected)
{
    /// <summary>The client may not publish on this topic at all (nothing was decoded or stored).</summary>
    public bool NotAuthorized { get; init; }

    /// <summary>Readings refused because their sender is over a quota (its rate, or its device's series).</summary>
    public int OverQuota { get; init; }

    /// <summary>True when the message carried something and none of it could be used.</summary>
    public bool AllRejected => Rejected > 0 && Stored == 0 && Duplicates == 0;
}

/// <summary>
/// The ingest path: decode and validate a message under <c>grid/</c>, record rejections, and store the valid
/// readings durably through the <see cref="ReadingWriter"/>, which tells whoever listens.
/// </summary>
internal sealed class IngestService(
    ITimeSeriesStore store,
    ReadingWriter writer,
    ReadingDecoder decoder,
    RejectionLog rejections,
    DeviceRegistry devices,
    DeviceQuotas quotas,
    Configuration.HubOptions options,
    TimeProvider time) : IDisposable
{
    // The ingest queue: messages decoded and not yet stored. Bounded, so that a flood (or a store slowed by its
    // disk) makes the MQTT receive path wait, and TCP push back on the senders, instead of filling memory.
    private readonly SemaphoreSlim _room = new(options.IngestQueueMessages, options.IngestQueueMessages);
    private long _queueWaits;
    private long _messages;
    private long _stored;
    private long _duplicates;

    public long Messages => Interlocked.Read(ref _messages);

    public long ReadingsStored => Interlocked.Read(ref _stored);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long ReadingsRejected => rejections.Total;

    /// <summary>Messages taken in and not yet stored (or failed).</summary>
    public int Queued => options.IngestQueueMessages - _room.CurrentCount;

    /// <summary>Times a receive path had to wait for room in the ingest queue.</summary>
    public long QueueWaits => Interlocked.Read(ref _queueWaits);

    /// <summary>
    /// Waits for room in the ingest queue, then ingests (<see cref="IngestAsync"/>): the returned task is the one
    /// that completes once the readings are durable. Awaited on an MQTT client's receive path, so that while the
    /// queue is full the hub reads nothing more from that client.
    /// </summary>
    public async Task<Task<IngestOutcome>> EnqueueAsync(string topic, ReadOnlySequence<byte> payload, string? clientId, string? user, CancellationToken cancellationToken)
    {
        if (!_room.Wait(0, CancellationToken.None))
        {
            Interlocked.Increment(ref _queueWaits);
            await _room.WaitAsync(cancellationToken);
        }

        Task<IngestOutcome> ingest;
        try
        {
            ingest = IngestAsync(topic, payload, clientId, user);
        }
        catch
        {
            _room.Release();
            throw;
        }

        _ = ingest.ContinueWith(static (_, room) => ((SemaphoreSlim)room!).Release(), _room, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return ingest;
    }

    public void Dispose() => _room.Dispose();

    /// <summary>Records a message refused because its sender may not publish there (or retain it); nothing of it is decoded.</summary>
    public IngestOutcome Refuse(string topic, string? user, string? clientId, string? why = null)
    {
        var device = GridTopic.TryParse(topic, out var parsed, out _) ? parsed.Device : null;
        rejections.Record(
            topic,
            new Rejection(RejectReason.NotAuthorized, $"{why ?? $"user '{user}' may publish only under grid/{user}/"} (topic '{ReadingDecoder.Printable(topic)}')", device, parsed.Metric),
            clientId,
            user);
        return new IngestOutcome(0, 0, 1) { NotAuthorized = true };
    }

    /// <summary>
    /// Decodes now; the returned task completes when the accepted readings are durable (or faults with
    /// <see cref="StoreWriteException"/> when they could not be written). Topics outside <c>grid/</c> are not ours.
    /// <paramref name="user"/> is the authenticated MQTT user that sent it (null for anonymous clients): rejections
    /// and the rate quota count against it, or against the topic's device when there is none.
    /// </summary>
    public Task<IngestOutcome> IngestAsync(string topic, ReadOnlySequence<byte> payload, string? clientId, string? user = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!GridTopic.IsGridTopic(topic))
            return Task.FromResult(default(IngestOutcome));

        Interlocked.Increment(ref _messages);
        var now = time.GetUtcNow();
        var decoded = decoder.Decode(topic, payload, now.ToUnixTimeMilliseconds());
        var rejected = 0;
        foreach (var rejection in decoded.Rejections)
        {
            rejections.Record(topic, rejection, clientId, user);
            rejected += rejection.Count;
        }

        var overQuota = decoded.Device is null ? 0 : ApplyQuotas(topic, decoded, user ?? decoded.Device, clientId, user);
        rejected += overQuota;
        if (decoded.Device is not null)
        {
            if (decoded.Status is { } status)
                devices.SetStatus(decoded.Device, status, now);
            else if (decoded.Agent is { } report)
                devices.SetAgent(decoded.Device, report, now);
            else
                devices.Heard(decoded.Device, now, decoded.Readings.Count + decoded.Columns.Sum(c => c.Count));
        }

        if (decoded.Columns.Count > 0)
            return AppendColumnsAsync(topic, decoded.Columns, rejected, overQuota, clientId, user);
        if (decoded.Readings.Count == 0)
            return Task.FromResult(new IngestOutcome(0, 0, rejected) { OverQuota = overQuota });
        return AppendAsync(topic, decoded.Readings, rejected, overQuota, clientId, user);
    }

    /// <summary>
    /// Refuses what is over the sender's quotas, taking it out of the decoded message: the whole message when the
    /// sender is over its rate, else the readings that would start a series its device has no room for. Returns how
    /// many readings were refused.
    /// </summary>
    private int ApplyQuotas(string topic, DecodedMessage decoded, string sender, string? clientId, string? user)
    {
        var count = decoded.Readings.Count + decoded.Columns.Sum(c => c.Count);
        if (count == 0)
            return 0;
        if (!quotas.TryTakeReadings(sender, count))
        {
            var rate = quotas.Options.ReadingsPerSecond;
            rejections.Record(
                topic,
                new Rejection(RejectReason.RateLimited, $"'{sender}' sends more than {rate} readings a second (in bursts of up to {rate * quotas.Options.BurstSeconds}); these {count} were refused: send them again more slowly", decoded.Device, null, count),
                clientId,
                user);
            decoded.Readings.Clear();
            decoded.Columns.Clear();
            return count;
        }

        var refused = 0;
        Dictionary<string, int>? refusedPerMetric = null;
        decoded.Readings.RemoveAll(r => !Admit(r.Series, 1));
        decoded.Columns.RemoveAll(c => !Admit(c.Series, c.Count));
        foreach (var (metric, readings) in refusedPerMetric ?? [])
        {
            rejections.Record(
                topic,
                new Rejection(RejectReason.SeriesLimit, $"device '{decoded.Device}' has {quotas.SeriesOf(decoded.Device!)} series, the most one device may have ({quotas.Options.MaxSeriesPerDevice}); '{metric}' would be a new one", decoded.Device, metric, readings),
                clientId,
                user);
        }

        return refused;

        bool Admit(SeriesKey series, int readings)
        {
            if (quotas.MayWrite(series))
                return true;
            refusedPerMetric ??= new Dictionary<string, int>(StringComparer.Ordinal);
            refusedPerMetric[series.Metric] = refusedPerMetric.GetValueOrDefault(series.Metric) + readings;
            refused += readings;
            return false;
        }
    }

    private async Task<IngestOutcome> AppendColumnsAsync(string topic, List<SeriesColumns> columns, int rejected, int overQuota, string? clientId, string? user)
    {
        var result = await writer.AppendColumnsAsync(columns, ReadingOrigin.Device);
        foreach (var conflict in result.UnitConflicts)
        {
            RecordUnitConflict(topic, conflict.Series, conflict.Unit, conflict.Count, clientId, user);
            rejected += conflict.Count;
        }

        var stored = result.Inserted + result.Updated;
        Interlocked.Add(ref _stored, stored);
        Interlocked.Add(ref _duplicates, result.Duplicates);
        return new IngestOutcome(stored, result.Duplicates, rejected) { OverQuota = overQuota };
    }

    private async Task<IngestOutcome> AppendAsync(string topic, List<Reading> readings, int rejected, int overQuota, string? clientId, string? user)
    {
        var result = await writer.AppendAsync(readings, ReadingOrigin.Device);
        foreach (var conflict in result.UnitConflicts)
        {
            RecordUnitConflict(topic, conflict.Series, conflict.Unit, 1, clientId, user);
            rejected++;
        }

        Interlocked.Add(ref _stored, result.Stored.Count);
        Interlocked.Add(ref _duplicates, result.Duplicates);
        return new IngestOutcome(result.Stored.Count, result.Duplicates, rejected) { OverQuota = overQuota };
    }

    private void RecordUnitConflict(string topic, SeriesKey series, string given, int count, string? clientId, string? user)
    {
        var unit = store.TryGetSeries(series, out var info) ? info.Unit : "?";
        rejections.Record(
            topic,
            new Rejection(
                RejectReason.UnitMismatch,
                $"series '{series.Id}' is stored in '{unit}', got '{ReadingDecoder.Printable(given)}'",
                series.Device,
                series.Metric,
                count),
            clientId,
            user);
    }
}
