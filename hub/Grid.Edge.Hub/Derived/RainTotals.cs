using System.Text.Json;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Files;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Derived;

/// <summary>A station's rain totals at one moment, in mm.</summary>
internal sealed record RainTotalsAt(double LastHour, double Last24Hours, double Today, double SinceReset, long? ResetAtMs);

/// <summary>
/// Rain totals of a station over the last hour, the last 24 hours, the hub's local day and since the user last reset
/// the station's total (like the "reset" button of a rain gauge console). Resets are kept in
/// <c>&lt;data-dir&gt;/rain-resets.json</c>; a station never reset counts from its first reading.
/// </summary>
internal sealed class RainTotals(ITimeSeriesStore store, TimeProvider time, string dataDir, Dictionary<string, long> resets)
{
    public const string FileName = "rain-resets.json";

    private const long HourMs = 3_600_000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly Lock _sync = new();

    // Saves take turns from taking the copy to replacing the file, so an older copy never lands after a newer one.
    private readonly Lock _saving = new();

    private readonly Dictionary<string, long> _resets = resets;

    private string FilePath => Path.Combine(dataDir, FileName);

    /// <summary>Totals of the <c>rain</c> series up to and including <paramref name="t"/>.</summary>
    public async Task<RainTotalsAt> AtAsync(string device, long t, CancellationToken cancellationToken) =>
        (await ForSpanAsync(device, t, t, cancellationToken))(t);

    /// <summary>
    /// Totals at any moment between <paramref name="fromMs"/> and <paramref name="toMs"/>, from one read of the rain
    /// of that span and the 25 hours before it (one hour more than a day, for days that DST makes longer).
    /// </summary>
    public async Task<Func<long, RainTotalsAt>> ForSpanAsync(string device, long fromMs, long toMs, CancellationToken cancellationToken)
    {
        var series = new SeriesKey(device, "rain");
        var reset = ResetAt(device);
        var first = store.TryGetSeries(series, out var info) ? info.FirstMs : fromMs;
        var windowStart = fromMs - (25 * HourMs);
        var window = await PointWindow.ReadAsync(store, series, windowStart, toMs + 1, cancellationToken);
        var start = Math.Max(first, reset ?? first);
        var before = start < windowStart ? await SumAsync(series, start, windowStart, cancellationToken) : 0;
        return t =>
        {
            var end = t + 1; // ranges are [from, to): include the reading at t
            return new RainTotalsAt(
                Math.Round(window.Sum(t - HourMs + 1, end), 4),
                Math.Round(window.Sum(t - (24 * HourMs) + 1, end), 4),
                Math.Round(window.Sum(LocalMidnight(t), end), 4),
                Math.Round(before + window.Sum(Math.Max(start, windowStart), end), 4),
                reset);
        };
    }

    /// <summary>Starts the station's "since reset" total again from now.</summary>
    public long Reset(string device)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_saving)
        {
            string text;
            lock (_sync)
            {
                _resets[device] = now;
                text = JsonSerializer.Serialize(_resets, Json);
            }

            DurableFile.WriteAllText(FilePath, text);
        }

        return now;
    }

    public long? ResetAt(string device)
    {
        lock (_sync)
            return _resets.TryGetValue(device, out var at) ? at : null;
    }

    private long LocalMidnight(long t)
    {
        var zone = time.LocalTimeZone;
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(t), zone);
        return new DateTimeOffset(local.Date, zone.GetUtcOffset(local.Date)).ToUnixTimeMilliseconds();
    }

    private async Task<double> SumAsync(SeriesKey series, long from, long to, CancellationToken cancellationToken)
    {
        if (from >= to)
            return 0;

        // Hour buckets use the rollups for whole hours; the range cuts the ragged ends exactly.
        var buckets = await store.ReadAggregatedAsync(series, from, to, HourMs, cancellationToken);
        return buckets.Sum(b => b.Sum);
    }

    /// <summary>
    /// Reads the resets file when the hub starts; a damaged one is moved aside with a warning (the stations' totals
    /// "since reset" then count from their first rain again) rather than keeping the hub from starting.
    /// </summary>
    public static Dictionary<string, long> LoadResets(string dataDir, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var path = Path.Combine(dataDir, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, long>>(File.ReadAllText(path), Json) ?? [] : [];
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            var aside = DurableFile.SetAside(path);
            logger.LogWarning("{Path} cannot be read ({Error}); moved to {Aside}, rain since reset counts from each station's first rain again", path, e.Message, aside);
            return [];
        }
    }
}
