using System.Collections.Concurrent;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>Limits on what one device may cost the hub. 0 turns a limit off.</summary>
internal sealed record DeviceQuotaOptions
{
    /// <summary>Most series one device may have (those the hub derives for it count too).</summary>
    public int MaxSeriesPerDevice { get; init; } = 2_000;

    /// <summary>Readings a second one sender may send, on average.</summary>
    public int ReadingsPerSecond { get; init; } = 20_000;

    /// <summary>How many seconds' worth a sender may send at once (a backlog after an outage) before its rate counts.</summary>
    public int BurstSeconds { get; init; } = 30;

    /// <summary>
    /// Senders followed one by one. Beyond this many (a client cycling made-up device names), senders whose budget is
    /// full again are forgotten, and new ones share one budget until there is room.
    /// </summary>
    public int MaxSenders { get; init; } = 10_000;
}

/// <summary>
/// Per-device caps on the number of series and on readings a second (a token bucket per sender: the authenticated
/// MQTT user, or the topic's device for anonymous clients). Readings over a cap are refused, never stored; what is
/// stored is never touched. The series count of each device comes from the store at start, so the cap holds across
/// restarts.
/// </summary>
internal sealed class DeviceQuotas
{
    /// <summary>The budget shared by senders that came when <see cref="DeviceQuotaOptions.MaxSenders"/> were followed.</summary>
    public const string OverflowSender = "(other senders)";

    private readonly ITimeSeriesStore _store;
    private readonly DeviceQuotaOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DeviceSeries> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly double _capacity;
    private long _lastSweep;

    public DeviceQuotas(ITimeSeriesStore store, DeviceQuotaOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _options = options;
        _time = time;
        _capacity = (double)options.ReadingsPerSecond * options.BurstSeconds;
        foreach (var device in store.ListSeries().GroupBy(s => s.Key.Device, StringComparer.Ordinal))
            _series[device.Key] = new DeviceSeries(device.Count());
    }

    public DeviceQuotaOptions Options => _options;

    /// <summary>Senders followed now (bounded by <see cref="DeviceQuotaOptions.MaxSenders"/> plus the shared one).</summary>
    public int SendersTracked => _buckets.Count;

    /// <summary>
    /// Takes <paramref name="readings"/> from the sender's budget. False when the sender is over its rate: nothing is
    /// taken and the readings must be refused. A message larger than the whole budget passes when the budget is full
    /// (and leaves it in debt), so no message is too large to ever pass.
    /// </summary>
    public bool TryTakeReadings(string sender, int readings)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (_options.ReadingsPerSecond <= 0 || readings <= 0)
            return true;
        var now = _time.GetTimestamp();
        if (!_buckets.TryGetValue(sender, out var bucket))
        {
            if (_buckets.Count >= _options.MaxSenders)
                ForgetIdleSenders(now);
            bucket = _buckets.Count < _options.MaxSenders
                ? _buckets.GetOrAdd(sender, _ => new Bucket(_capacity, now))
                : _buckets.GetOrAdd(OverflowSender, _ => new Bucket(_capacity, now));
        }

        return bucket.TryTake(readings, now, _options.ReadingsPerSecond, _capacity, _time);
    }

    /// <summary>
    /// True when a point of <paramref name="series"/> may be stored: the series exists, or its device has room for
    /// one more (which is then counted as the device's, whether or not the point gets stored).
    /// </summary>
    public bool MayWrite(SeriesKey series)
    {
        if (_options.MaxSeriesPerDevice <= 0 || _store.TryGetSeries(series, out _))
            return true;
        return _series.GetOrAdd(series.Device, _ => new DeviceSeries(0)).TryAdd(series.Metric, _options.MaxSeriesPerDevice);
    }

    /// <summary>Counts the series the hub itself starts for devices (derived weather, vehicle bookkeeping); never refuses.</summary>
    public void Note(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (_options.MaxSeriesPerDevice <= 0)
            return;
        SeriesKey? last = null;
        foreach (var reading in readings)
        {
            if (reading.Series == last || _store.TryGetSeries(reading.Series, out _))
                continue;
            last = reading.Series;
            _series.GetOrAdd(reading.Series.Device, _ => new DeviceSeries(0)).TryAdd(reading.Series.Metric, int.MaxValue);
        }
    }

    /// <summary>Series the device has (or was allowed to start since the hub started).</summary>
    public int SeriesOf(string device) => _series.TryGetValue(device, out var entry) ? entry.Count : 0;

    // A sender whose budget has filled up again costs nothing to forget: it would start afresh with a full one.
    private void ForgetIdleSenders(long now)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (_time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1) || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
            return;
        foreach (var (sender, bucket) in _buckets)
        {
            if (sender != OverflowSender && bucket.IsFull(now, _options.ReadingsPerSecond, _capacity, _time))
                _buckets.TryRemove(sender, out _);
        }
    }

    private sealed class DeviceSeries(int count)
    {
        private readonly Lock _gate = new();
        private readonly HashSet<string> _started = new(StringComparer.Ordinal);
        private int _count = count;

        public int Count => Volatile.Read(ref _count);

        /// <summary>Counts a series not in the store (yet); false when the device is at <paramref name="cap"/>.</summary>
        public bool TryAdd(string metric, int cap)
        {
            lock (_gate)
            {
                if (_started.Contains(metric))
                    return true;
                if (_count >= cap)
                    return false;
                _started.Add(metric);
                _count++;
                return true;
            }
        }
    }

    private sealed class Bucket(double tokens, long updated)
    {
        private readonly Lock _gate = new();
        private double _tokens = tokens;
        private long _updated = updated;

        public bool TryTake(int readings, long now, int rate, double capacity, TimeProvider time)
        {
            lock (_gate)
            {
                Refill(now, rate, capacity, time);
                if (_tokens < readings && _tokens < capacity)
                    return false;
                _tokens -= readings;
                return true;
            }
        }

        public bool IsFull(long now, int rate, double capacity, TimeProvider time)
        {
            lock (_gate)
            {
                Refill(now, rate, capacity, time);
                return _tokens >= capacity;
            }
        }

        private void Refill(long now, int rate, double capacity, TimeProvider time)
        {
            if (now <= _updated)
                return;
            _tokens = Math.Min(capacity, _tokens + (time.GetElapsedTime(_updated, now).TotalSeconds * rate));
            _updated = now;
        }
    }
}
