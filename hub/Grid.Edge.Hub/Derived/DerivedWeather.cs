using System.Threading.Channels;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Intelligence.Weather;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Derived;

/// <summary>
/// Weather series the hub derives from what stations send, stored as series of their own and streamed live like
/// measured ones: dew point, heat index (from 26.7 degC), wind chill (10 degC and below, wind above 4.8 km/h),
/// sea-level pressure (stations with a configured altitude), the 3-hour pressure change and the Zambretti forecast
/// number, and rain rate over the last 10 minutes. Each is computed at the time of the reading it comes from, so
/// late and backfilled data derive the same values as live data; partner values are taken from the same message
/// when they are there and from the store within a few minutes otherwise.
/// </summary>
public sealed class DerivedWeather(
    ITimeSeriesStore store,
    LiveFeed live,
    Alerts.AlertService alerts,
    IReadOnlyDictionary<string, double> stationAltitudes,
    ILogger<DerivedWeather> logger) : BackgroundService
{
    public static readonly IReadOnlySet<string> Inputs = new HashSet<string>(StringComparer.Ordinal) { "temperature", "humidity", "pressure", "wind_speed", "rain" };

    private static readonly long PartnerWindowMs = (long)TimeSpan.FromMinutes(5).TotalMilliseconds;
    private static readonly long ThreeHoursMs = (long)TimeSpan.FromHours(3).TotalMilliseconds;
    private static readonly long TendencyToleranceMs = (long)TimeSpan.FromMinutes(20).TotalMilliseconds;
    private static readonly long RainWindowMs = (long)TimeSpan.FromMinutes(10).TotalMilliseconds;

    private readonly Channel<Reading> _queue = Channel.CreateBounded<Reading>(new BoundedChannelOptions(500_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private long _skipped;
    private long _derived;

    /// <summary>Readings derived and stored since start.</summary>
    public long Derived => Interlocked.Read(ref _derived);

    /// <summary>Inputs not derived from because the queue was full (ingest outran derivation).</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Called with what ingest stored; takes the readings that feed a derivation, never blocks ingest.</summary>
    public void Observe(IReadOnlyList<Reading> stored)
    {
        foreach (var reading in stored)
        {
            if (Inputs.Contains(reading.Series.Metric) && !_queue.Writer.TryWrite(reading))
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
                try
                {
                    var derived = await DeriveAsync(batch, stoppingToken);
                    if (derived.Count == 0)
                        continue;
                    var result = await store.AppendAsync(derived, stoppingToken);
                    Interlocked.Add(ref _derived, result.Stored.Count);
                    if (result.Stored.Count > 0)
                    {
                        live.Publish(result.Stored);
                        alerts.Observe(result.Stored);
                    }
                }
                catch (StoreWriteException e)
                {
                    logger.LogError("Derived weather values could not be stored: {Error}", e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Derives what the readings of one batch allow; pure except for store lookups of partner values.</summary>
    internal async Task<List<Reading>> DeriveAsync(IReadOnlyList<Reading> readings, CancellationToken cancellationToken)
    {
        var output = new List<Reading>();
        foreach (var group in readings.GroupBy(r => (r.Series.Device, r.TimestampMs)))
        {
            var (device, t) = group.Key;
            var here = group.GroupBy(r => r.Series.Metric).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            void Add(string metric, double value, string unit)
            {
                if (double.IsFinite(value))
                    output.Add(new Reading(new SeriesKey(device, metric), t, Math.Round(value, 2), unit));
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

            if (here.ContainsKey("wind_speed") || here.ContainsKey("temperature"))
            {
                if (await PartnerAsync("temperature") is { } temperature && temperature <= 10 && await PartnerAsync("wind_speed") is { } wind && wind * 3.6 > 4.8)
                    Add("wind_chill", Psychrometrics.WindChill(temperature, wind), "degC");
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

            if (here.TryGetValue("rain", out var rain))
            {
                var points = await store.ReadRangeAsync(new SeriesKey(device, "rain"), t - RainWindowMs + 1, t + 1, 10_000, cancellationToken: cancellationToken);
                var total = points.Where(p => p.TimestampMs != t).Sum(p => p.Value) + rain;
                Add("rain_rate", RainCounter.RateFromWindow(total, TimeSpan.FromMilliseconds(RainWindowMs)), "mm/h");
            }
        }

        return output;
    }

    /// <summary>The stored value of a series closest to <paramref name="t"/> within ± <paramref name="window"/> ms.</summary>
    private async Task<double?> NearestAsync(SeriesKey series, long t, long window, CancellationToken cancellationToken)
    {
        if (!store.TryGetSeries(series, out _))
            return null;
        var points = await store.ReadRangeAsync(series, t - window, t + window + 1, 1000, cancellationToken: cancellationToken);
        return points.Count == 0 ? null : points.MinBy(p => Math.Abs(p.TimestampMs - t)).Value;
    }
}
