using System.Threading.Channels;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Intelligence.Vehicle;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Vehicles;

/// <summary>
/// Follows vehicles' readings to keep their virtual odometers (the vehicle's own odometer when it reports one,
/// else deltas of "distance since codes cleared", else integrated speed; anchored once by a person) and engine hours
/// (from run time since start), and evaluates their service items. Publishes <c>virtual_odometer</c> (km),
/// <c>engine_hours</c> (h) and <c>service_due</c> (items due or overdue) as series, so charts and alert rules use them,
/// and <c>dtc_new</c>: at each trouble-code read, how many of the codes read the vehicle had not reported in the 30
/// days before.
/// </summary>
internal sealed class VehicleTracker(VehicleBook book, ITimeSeriesStore store, Readings.ReadingWriter writer, TimeProvider time, ILogger<VehicleTracker> logger) : BackgroundService
{
    public static readonly IReadOnlySet<string> Inputs = new HashSet<string>(StringComparer.Ordinal) { "odometer", "distance_since_clear", "speed", "run_time", "dtc", "dtc_count" };
    private static readonly long CodeMemoryMs = (long)TimeSpan.FromDays(30).TotalMilliseconds;

    // The codes of one read are stamped a millisecond apart; anything a minute older belongs to an earlier read.
    private static readonly long SameReadMs = 60_000;
    private static readonly string[] BookkeepingMetrics = ["engine_hours", "virtual_odometer", "service_due"];
    // The newest time each device's bookkeeping was written at: the store shows a write only once it is durable,
    // so a second update right after a first (still being synced) must not go by the store's latest point alone.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _bookkept = new(StringComparer.Ordinal);
    private readonly Hosting.ServiceFaults _faults = new(logger, time);
    private readonly Channel<Reading> _queue = Channel.CreateBounded<Reading>(new BoundedChannelOptions(200_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    /// <summary>
    /// Takes the stored device readings that move the bookkeeping on; never blocks the writer. The bookkeeping's own
    /// series are not inputs, and a vehicle merged from another hub is kept by the hub it reports to.
    /// </summary>
    public void OnStored(Readings.ReadingsStored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Origin != Readings.ReadingOrigin.Device)
            return;
        foreach (var reading in stored.Of(Inputs))
            _queue.Writer.TryWrite(reading);
    }

    /// <summary>Sets a vehicle's odometer to what its dashboard shows.</summary>
    public async Task AnchorAsync(string device, double km)
    {
        book.Update(device, r =>
        {
            r.Distance.Anchor(km);
            return 0;
        });
        await CommitAsync(device);
    }

    /// <summary>Marks a service item done now (at the current odometer) or at the given distance and date.</summary>
    public async Task<bool> MarkDoneAsync(string device, string item, double? atKm, DateOnly? on)
    {
        var found = book.Update(device, r =>
        {
            var index = r.Service.FindIndex(s => s.Id == item);
            if (index < 0)
                return false;
            r.Service[index] = r.Service[index] with { DoneAtKm = atKm ?? r.OdometerKm, DoneOn = on ?? DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime) };
            return true;
        });
        if (found)
        {
            await CommitAsync(device);
        }

        return found;
    }

    /// <summary>Adds a service item or changes its name and intervals (what was done is kept).</summary>
    public async Task SetItemAsync(string device, string item, string name, double? intervalKm, int? intervalDays)
    {
        book.Update(device, r =>
        {
            var index = r.Service.FindIndex(s => s.Id == item);
            if (index < 0)
                r.Service.Add(new ServiceItem(item, name, intervalKm, intervalDays, null, null));
            else
                r.Service[index] = r.Service[index] with { Name = name, IntervalKm = intervalKm, IntervalDays = intervalDays };
            return 0;
        });
        await CommitAsync(device);
    }

    /// <summary>Removes a service item the vehicle does not have (a chain instead of a timing belt, an electric car's oil).</summary>
    public async Task<bool> RemoveItemAsync(string device, string item)
    {
        var removed = book.Update(device, r => r.Service.RemoveAll(s => s.Id == item) > 0);
        if (removed)
        {
            await CommitAsync(device);
        }

        return removed;
    }

    // A person's change is saved at once (not with the next periodic save) and shows in the series now.
    private async Task CommitAsync(string device)
    {
        book.Save();
        await PublishAsync(device, time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>The service items of a vehicle with their status now.</summary>
    public IReadOnlyList<(ServiceItem Item, ServiceStatus Status, double? DistanceShare, double? TimeShare)> Service(string device)
    {
        var record = book.Get(device) ?? new VehicleRecord();
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        return record.Service.Select(s =>
        {
            var (status, distance, share) = ServiceSchedule.Evaluate(s, record.OdometerKm, today);
            return (s, status, distance, share);
        }).ToList();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var saver = new PeriodicTimer(TimeSpan.FromSeconds(5), time);
        var saveTick = saver.WaitForNextTickAsync(stoppingToken).AsTask();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var readable = _queue.Reader.WaitToReadAsync(stoppingToken).AsTask();
                if (await Task.WhenAny(readable, saveTick) == saveTick)
                {
                    SaveBook();
                    saveTick = saver.WaitForNextTickAsync(stoppingToken).AsTask();
                    continue;
                }

                var touched = new Dictionary<string, long>(StringComparer.Ordinal);
                var diagnostics = new List<Reading>();
                while (_queue.Reader.TryRead(out var reading))
                {
                    if (reading.Series.Metric is "dtc" or "dtc_count")
                    {
                        diagnostics.Add(reading);
                        continue;
                    }

                    Apply(reading);
                    touched[reading.Series.Device] = Math.Max(touched.GetValueOrDefault(reading.Series.Device), reading.TimestampMs);
                }

                try
                {
                    foreach (var (device, t) in touched)
                        await PublishAsync(device, t);
                    await PublishNewCodesAsync(diagnostics);
                }
                catch (Exception e) when (_faults.Outlive(e, "to keep the vehicles' bookkeeping"))
                {
                    // The records are updated; their series follow with the next readings.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            SaveBook();
        }
    }

    private void SaveBook()
    {
        try
        {
            book.Save();
        }
        catch (Exception e) when (_faults.Outlive(e, $"to save {VehicleBook.FileName}"))
        {
            // Still marked changed: written with the next save.
        }
    }

    private void Apply(Reading reading) => book.Update(reading.Series.Device, r =>
    {
        switch (reading.Series.Metric)
        {
            case "odometer":
                r.Distance.VehicleOdometer(reading.Value);
                break;
            case "distance_since_clear":
                r.Distance.DistanceSinceClear(reading.Value);
                break;
            case "speed":
                r.Distance.Speed(reading.TimestampMs, reading.Value);
                break;
            case "run_time":
                // Run time since engine start restarts at every start: add what it grew by, or all of it after a restart.
                r.EngineSeconds += r.LastRunTime is { } previous && reading.Value >= previous ? reading.Value - previous : reading.Value;
                r.LastRunTime = reading.Value;
                break;
        }

        return 0;
    });

    /// <summary>
    /// <c>dtc_new</c> for each device whose trouble codes were read: the number of codes of the newest read not
    /// reported in the 30 days before it, or 0 for a read (<c>dtc_count</c>) that brought no codes.
    /// </summary>
    private async Task PublishNewCodesAsync(List<Reading> diagnostics)
    {
        var output = new List<Reading>();
        foreach (var device in diagnostics.GroupBy(r => r.Series.Device))
        {
            var codes = device.Where(r => r.Series.Metric == "dtc").ToList();
            if (codes.Count == 0)
            {
                output.Add(new Reading(new SeriesKey(device.Key, "dtc_new"), device.Max(r => r.TimestampMs), 0, string.Empty));
                continue;
            }

            var newest = codes.Max(r => r.TimestampMs);
            var read = codes.Where(r => r.TimestampMs > newest - SameReadMs).ToList();
            var earlier = await store.ReadRangeAsync(new SeriesKey(device.Key, "dtc"), read.Min(r => r.TimestampMs) - CodeMemoryMs, read.Min(r => r.TimestampMs) - SameReadMs, 100_000);
            var known = earlier.Select(p => p.Value).ToHashSet();
            output.Add(new Reading(new SeriesKey(device.Key, "dtc_new"), newest, read.Select(r => r.Value).Distinct().Count(code => !known.Contains(code)), string.Empty));
        }

        await StoreAsync(output, "new trouble codes");
    }

    private async Task PublishAsync(string device, long t)
    {
        var record = book.Get(device);
        if (record is null)
            return;

        // The bookkeeping series describe the vehicle's state now: a late reading or a person's correction must
        // never land behind the newest point, or the series' latest value would not be the current state.
        foreach (var metric in BookkeepingMetrics)
        {
            if (store.TryGetSeries(new SeriesKey(device, metric), out var info) && info.LatestMs >= t)
                t = info.LatestMs + 1;
        }

        t = _bookkept.AddOrUpdate(device, t, (_, last) => Math.Max(t, last + 1));

        var readings = new List<Reading> { new(new SeriesKey(device, "engine_hours"), t, Math.Round(record.EngineSeconds / 3600, 2), "h") };
        if (record.OdometerKm is { } odo)
            readings.Add(new Reading(new SeriesKey(device, "virtual_odometer"), t, Math.Round(odo, 1), "km"));
        readings.Add(new Reading(new SeriesKey(device, "service_due"), t, Service(device).Count(s => s.Status >= ServiceStatus.Due), string.Empty));
        await StoreAsync(readings, "vehicle bookkeeping of " + device);
    }

    private async Task StoreAsync(List<Reading> readings, string what)
    {
        try
        {
            await writer.AppendAsync(readings, Readings.ReadingOrigin.Derived);
        }
        catch (StoreWriteException e)
        {
            logger.LogError("The {What} could not be stored: {Error}", what, e.Message);
        }
    }
}
