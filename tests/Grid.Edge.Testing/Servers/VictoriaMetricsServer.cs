using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Grid.Edge.Testing.Servers;

/// <summary>
/// Debian's VictoriaMetrics (<c>victoria-metrics</c>, 1.79 in Debian 12) with its own temp folder. It keeps every
/// sample it is sent unless told to deduplicate: <c>-dedup.minScrapeInterval=1ms</c> keeps one sample per series and
/// millisecond, which is what makes a resend overwrite rather than add (the README says so for users).
/// </summary>
internal sealed class VictoriaMetricsServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly HttpClient _http;

    private VictoriaMetricsServer(TempDirectory dir, ServerProcess process)
    {
        _dir = dir;
        Process = process;
        _http = new HttpClient { BaseAddress = process.Http, Timeout = TimeSpan.FromSeconds(30) };
    }

    public ServerProcess Process { get; }

    public Uri Http => Process.Http;

    public static bool Installed => File.Exists("/usr/bin/victoria-metrics");

    public static async Task<VictoriaMetricsServer> StartAsync()
    {
        var dir = new TempDirectory();
        var process = await ServerProcess.StartAsync("victoria-metrics", port => new ProcessStartInfo("/usr/bin/victoria-metrics",
            [
                $"-httpListenAddr=127.0.0.1:{port}",
                $"-storageDataPath={dir.Path}",
                "-dedup.minScrapeInterval=1ms",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
                "-search.disableCache",
                "-loggerLevel=ERROR",
            ]), "/health", HttpStatusCode.OK);
        return new VictoriaMetricsServer(dir, process);
    }

    /// <summary>Every sample of the series named <paramref name="metric"/> (VictoriaMetrics names a line protocol field measurement_field) as (device, unit, time ms, value).</summary>
    public async Task<IReadOnlyList<(string Device, string? Unit, long TimeMs, double Value)>> PointsAsync(string metric)
    {
        var match = Uri.EscapeDataString($"{{__name__=\"{metric}\"}}");
        var text = await _http.GetStringAsync($"/api/v1/export?match[]={match}&reduce_mem_usage=1");
        var points = new List<(string, string?, long, double)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var labels = json.RootElement.GetProperty("metric");
            var device = labels.GetProperty("device").GetString()!;
            var unit = labels.TryGetProperty("unit", out var u) ? u.GetString() : null;
            var values = json.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
            var times = json.RootElement.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToList();
            for (var i = 0; i < times.Count; i++)
                points.Add((device, unit, times[i], values[i]));
        }

        return points;
    }

    /// <summary>Makes what was just written searchable now rather than within a second or so.</summary>
    public async Task FlushAsync()
    {
        using var response = await _http.GetAsync("/internal/force_flush");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Process.DisposeAsync();
        _dir.Dispose();
    }
}
