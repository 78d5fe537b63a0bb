using System.Threading.Channels;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Intelligence.Weather;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Derived;

/// <summary>
/// Weather series the hub derives from what stations send, stored as series of their own and streamed live like
/// measured ones: dew point, heat index (from 26.7 degC), wind chill (10 degC and below, wind above 4.8 km/h),
/// sea-level pressure (stations with a configured altitude), the 3-hour pressure change and the Zambretti forecast
/// number, rain from a gauge's cumulative counter (resets and wraps handled), rain rate over the last 10 minutes, rain
/// totals (last hour, last 24 hours, today, since reset), and 10-minute wind means and gusts. Each is computed at the time of the reading it comes from, so
/// late and backfilled data derive the same values as live data; partner values are taken from the same message
/// when they are there and from the store within a few minutes otherwise.
/// </summary>
internal sealed class DerivedWeather(
    ITimeSeriesStore store,
    ReadingWriter writer,
    RainTotals rainTotals,
    IReadOnlyDictionary<string, double> stationAltitudes,
    ILogger<DerivedWeather> logger) : BackgroundService
{
    public static readonly IReadOnlySet<string> Inputs = new HashSet<string>(StringComparer.Ordinal)
    {
        "temperature", "humidity", "pressure", "wind_speed", "wind_gust", "wind_direction", "rain", "rain_total",
    };

    private static readonly long PartnerWindowMs = (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
    private static readonly long ThreeHoursMs = (long)TimeSpan.FromHours(3).TotalMilliseconds;
    private static readonly long TendencyToleranceMs = (long)TimeSpan.FromMinutes(20).TotalMilliseconds;
    private static readonly long RainWindowMs = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
    private static readonly long WindWindowMs = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
    private static readonly long CounterLookbackMs = (long)TimeSpan.FromDays(7).TotalMilliseconds;

    private readonly Channel<Reading> _queue = Channel.CreateBounded<Reading>(new BoundedChannelOptions(500_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private long _skipped;
    private long _derived;
    private long _implausibleRain;
    private int _inFlight;
    private readonly Hosting.ServiceFaults _faults = new(logger, TimeProvider.System);

    /// <summary>Readings derived and stored since start.</summary>
    public long Derived => Interlocked.Read(ref _derived);

    /// <summary>Inputs not derived from because the queue was full (ingest outran derivation).</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Inputs waiting to be derived from (a backfill being worked through).</summary>
    public int Pending => _queue.Reader.Count + Volatile.Read(ref _inFlight);

    /// <summary>Rain counter steps refused as implausible (more than 50 mm between two readings).</summary>
    public long ImplausibleRainSteps => Interlocked.Read(ref _implausibleRain);

    /// <summary>
    /// Takes the stored device readings that feed a derivation; never blocks the writer. What the hub derived is not
    /// derived from again, and readings merged from another hub were derived from there.
    /// </summary>
    public void OnStored(ReadingsStored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Origin != ReadingOrigin.Device)
            return;
        foreach (var reading in stored.Of(Inputs))
        {
            if (!_queue.Writer.TryWrite(reading))
                Interlocked.Increment(ref _skipped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Reading>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < 10_000 && _queue.Reader.TryRead(out var reading))
                    batch.Add(reading);
                Volatile.Write(ref _inFlight, batch.Count);
                try
                {
                    // Rain from counters is stored first, so the totals and rates derived next see it like reported rain.
                    var counted = await RainFromCountersAsync(batch, stoppingToken);
                    await StoreAsync(counted, stoppingToken);
                    batch.AddRange(counted);
                    await StoreAsync(await DeriveAsync(batch, stoppingToken), stoppingToken);
                }
                catch (Exception e) when (_faults.Outlive(e, "to derive and store weather values"))
                {
                    // The batch is lost for derivation; the readings themselves are stored.
                }
                finally
                {
                    Volatile.Write(ref _inFlight, 0);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StoreAsync(List<Reading> derived, CancellationToken cancellationToken) =>
        Interlocked.Add(ref _derived, (await writer.AppendAsync(derived, ReadingOrigin.Derived, cancellationToken)).Stored.Count);

    /// <summary>
    /// Rain per report from gauges that send their cumulative counter (rtl_433, Tasmota, ESPHome), unless the same
    /// message also carries the increment: the difference to the counter's previous stored reading, resets counted
    /// from zero, implausible jumps refused and counted.
    /// </summary>
    internal async Task<List<Reading>> RainFromCountersAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken)
    {
        var output = new List<Reading>();
        var withIncrement = readings.Where(r => r.Series.Metric == "rain").Select(r => (r.Series.Device, r.TimestampMs)).ToHashSet();
        foreach (var reading in readings.Where(r => r.Series.Metric == "rain_total").OrderBy(r => r.TimestampMs))
        {
            var (device, t) = (reading.Series.Device, reading.TimestampMs);
            if (withIncrement.Contains((device, t)))
                continue;
            var previous = await store.ReadRangeAsync(reading.Series, t - CounterLookbackMs, t, 1, newestFirst: true, cancellationToken);
            if (previous.Count == 0)
                continue;
            var gauge = new RainCounter();
            gauge.Add(previous[0].Value, out _);
            var increment = gauge.Add(reading.Value, out var outcome);
            if (outcome == RainCounter.Outcome.Implausible)
            {
                if (Interlocked.Increment(ref _implausibleRain) <= 10)
                    logger.LogWarning("Rain counter of {Device} jumped from {Previous} to {Now} mm; the step is not counted as rain", device, previous[0].Value, reading.Value);
                continue;
            }

            output.Add(new Reading(new SeriesKey(device, "rain"), t, Math.Round(increment, 4), "mm"));
        }

        return output;
    }

    /// <summary>Derives what the readings of one batch allow; pure except for store lookups of partner values.</summary>
    internal async Task<List<Reading>> DeriveAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken)
    {
        var output = new List<Reading>();
        var spans = readings.GroupBy(r => r.Series.Device).ToDictionary(g => g.Key, g => (Min: g.Min(r => r.TimestampMs), Max: g.Max(r => r.TimestampMs)), StringComparer.Ordinal);
        var windows = new Dictionary<(string Device, string Metric), PointWindow>();
        var rainTotalsOf = new Dictionary<string, Func<long, RainTotalsAt>>(StringComparer.Ordinal);
        foreach (var group in readings.GroupBy(r => (r.Series.Device, r.TimestampMs)))
        {
            var (device, t) = group.Key;
            var here = group.GroupBy(r => r.Series.Metric).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            void Add(string metric, double value, string unit, int decimals = 2)
            {
                if (double.IsFinite(value))
                    output.Add(new Reading(new SeriesKey(device, metric), t, Math.Round(value, decimals), unit));
            }

            async Task<double?> PartnerAsync(string metric) =>
                here.TryGetValue(metric, out var value) ? value : await NearestAsync(new SeriesKey(device, metric), t, PartnerWindowMs, cancellationToken);

            if (here.ContainsKey("temperature") || here.ContainsKey("humidity"))
            {
                if (await PartnerAsync("temperature") is { } temperature && await PartnerAsync("humidity") is { } humidity)
                {
                    if (Psychrometrics.DewPoint(temperature, humidity) is { } dewPoint)
                        Add("dew_point", dewPoint, "degC");
                    if (temperature >= 26.7)
                        Add("heat_index", Psychrometrics.HeatIndex(temperature, humidity), "degC");
                }
            }

            // Wind chill belongs to a wind reading: derived at its time, and again when a temperature arrives after
            // it, so the result is the same whichever of the two messages is stored first.
            if (here.ContainsKey("wind_speed"))
            {
                if (await PartnerAsync("temperature") is { } temperature && ChillOf(temperature, here["wind_speed"]) is { } chill)
                    Add("wind_chill", chill, "degC");
            }
            else if (here.ContainsKey("temperature")
                && await NearestPointAsync(new SeriesKey(device, "wind_speed"), t, PartnerWindowMs, cancellationToken) is { } wind
                && await NearestAsync(new SeriesKey(device, "temperature"), wind.TimestampMs, PartnerWindowMs, cancellationToken) is { } temperature
                && ChillOf(temperature, wind.Value) is { } chill)
            {
                output.Add(new Reading(new SeriesKey(device, "wind_chill"), wind.TimestampMs, Math.Round(chill, 2), "degC"));
            }

            if (here.TryGetValue("pressure", out var pressure))
            {
                double? seaLevel = null;
                if (stationAltitudes.TryGetValue(device, out var altitude))
                {
                    seaLevel = Barometry.SeaLevelPressure(pressure, altitude, await PartnerAsync("temperature"));
                    Add("sea_level_pressure", seaLevel.Value, "hPa");
                }

                if (await NearestAsync(new SeriesKey(device, "pressure"), t - ThreeHoursMs, TendencyToleranceMs, cancellationToken) is { } before)
                {
                    var change = pressure - before;
                    Add("pressure_tendency", change, "hPa");
                    if (seaLevel is { } p0)
                        Add("forecast", Zambretti.Forecast(p0, change), string.Empty);
                }
            }

            if (here.ContainsKey("rain"))
            {
                // The rain at t is stored already (reported, or counted from a counter just before).
                var recent = (await WindowAsync(device, "rain")).Sum(t - RainWindowMs + 1, t + 1);
                Add("rain_rate", RainCounter.RateFromWindow(recent, TimeSpan.FromMilliseconds(RainWindowMs)), "mm/h");
                if (!rainTotalsOf.TryGetValue(device, out var totalsAt))
                    rainTotalsOf[device] = totalsAt = await rainTotals.ForSpanAsync(device, spans[device].Min, spans[device].Max, cancellationToken);
                var totals = totalsAt(t);
                Add("rain_last_hour", totals.LastHour, "mm", decimals: 4);
                Add("rain_last_24h", totals.Last24Hours, "mm", decimals: 4);
                Add("rain_today", totals.Today, "mm", decimals: 4);
                Add("rain_since_reset", totals.SinceReset, "mm", decimals: 4);
            }

            if (here.ContainsKey("wind_speed") || here.ContainsKey("wind_gust") || here.ContainsKey("wind_direction"))
                AddWindMeans(t, await WindowAsync(device, "wind_speed"), await WindowAsync(device, "wind_gust"), await WindowAsync(device, "wind_direction"), Add);
        }

        return output;

        // Series read once per batch and device over the batch's span and the 10 minutes before it.
        async Task<PointWindow> WindowAsync(string device, string metric)
        {
            if (!windows.TryGetValue((device, metric), out var window))
            {
                var (min, max) = spans[device];
                windows[(device, metric)] = window = await PointWindow.ReadAsync(store, new SeriesKey(device, metric), min - Math.Max(RainWindowMs, WindWindowMs), max + 1, cancellationToken);
            }

            return window;
        }
    }

    /// <summary>10-minute scalar mean speed, speed-weighted vector mean direction and strongest gust up to <paramref name="t"/>.</summary>
    private static void AddWindMeans(long t, PointWindow speedWindow, PointWindow gustWindow, PointWindow directionWindow, Action<string, double, string, int> add)
    {
        var (from, to) = (t - WindWindowMs + 1, t + 1);
        var speeds = speedWindow.Between(from, to).ToList();
        var gusts = gustWindow.Between(from, to).ToList();
        var directions = directionWindow.Between(from, to).ToList();
        if (speeds.Count > 0)
            add("wind_speed_mean", speeds.Average(p => p.Value), "m/s", 2);
        if (speeds.Count + gusts.Count > 0)
            add("wind_gust_max", speeds.Concat(gusts).Max(p => p.Value), "m/s", 2);
        if (directions.Count > 0)
        {
            // Weight each direction by the speed measured with it (calm samples weigh nothing, so a calm spell has no
            // direction); stations that send direction and speed at different times get an unweighted mean.
            var speedAt = speeds.GroupBy(p => p.TimestampMs).ToDictionary(g => g.Key, g => g.Last().Value);
            var weighted = directions.Where(d => speedAt.ContainsKey(d.TimestampMs)).Select(d => (d.Value, speedAt[d.TimestampMs])).ToList();
            if (weighted.Count == 0)
                weighted = directions.Select(d => (d.Value, 1.0)).ToList();
            if (Wind.MeanDirection(weighted) is { } mean)
                add("wind_direction_mean", mean, "deg", 0);
        }
    }

    /// <summary>The stored value of a series closest to <paramref name="t"/> within ± <paramref name="window"/> ms.</summary>
    private async Task<double?> NearestAsync(SeriesKey series, long t, long window, CancellationToken cancellationToken) =>
        (await NearestPointAsync(series, t, window, cancellationToken))?.Value;

    private async Task<DataPoint?> NearestPointAsync(SeriesKey series, long t, long window, CancellationToken cancellationToken)
    {
        if (!store.TryGetSeries(series, out _))
            return null;
        var points = await store.ReadRangeAsync(series, t - window, t + window + 1, 1000, cancellationToken: cancellationToken);
        return points.Count == 0 ? null : points.MinBy(p => Math.Abs(p.TimestampMs - t));
    }

    /// <summary>Wind chill where it is defined: 10 degC and below, wind over 4.8 km/h.</summary>
    private static double? ChillOf(double temperature, double windSpeed) =>
        temperature <= 10 && windSpeed * 3.6 > 4.8 ? Psychrometrics.WindChill(temperature, windSpeed) : null;
}
