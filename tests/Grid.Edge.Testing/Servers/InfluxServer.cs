using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Grid.Edge.Testing.Servers;

/// <summary>Debian's InfluxDB 1.x (<c>influxd</c>, 1.6.7 in Debian 12) with a generated config and its own temp folder.</summary>
internal sealed class InfluxServer : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly HttpClient _http;

    private InfluxServer(TempDirectory dir, ServerProcess process)
    {
        _dir = dir;
        Process = process;
        _http = new HttpClient { BaseAddress = process.Http, Timeout = TimeSpan.FromSeconds(30) };
    }

    public ServerProcess Process { get; }

    public Uri Http => Process.Http;

    public static bool Installed => File.Exists("/usr/bin/influxd");

    public static async Task<InfluxServer> StartAsync()
    {
        var dir = new TempDirectory();
        var process = await ServerProcess.StartAsync("influxd", port =>
        {
            var config = Path.Combine(dir.Path, $"influxdb-{port}.conf");
            File.WriteAllText(config, $"""
                reporting-disabled = true
                bind-address = "127.0.0.1:0"
                [meta]
                  dir = "{dir.Path}/meta"
                [data]
                  dir = "{dir.Path}/data"
                  wal-dir = "{dir.Path}/wal"
                  query-log-enabled = false
                [http]
                  bind-address = "127.0.0.1:{port}"
                  log-enabled = false
                [monitor]
                  store-enabled = false
                [continuous_queries]
                  enabled = false
                """);
            return new ProcessStartInfo("/usr/bin/influxd", ["-config", config]);
        }, "/ping", HttpStatusCode.NoContent);
        return new InfluxServer(dir, process);
    }

    /// <summary>Runs an InfluxQL statement and returns its first result's series (name, tags, columns, values).</summary>
    public async Task<JsonElement> QueryAsync(string database, string query)
    {
        using var response = await _http.PostAsync("/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["db"] = database, ["q"] = query, ["epoch"] = "ms" }));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"influx query '{query}': {(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        var result = json.RootElement.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"influx query '{query}': {error}");
        return result.TryGetProperty("series", out var series) ? series.Clone() : JsonDocument.Parse("[]").RootElement.Clone();
    }

    /// <summary>Every point of a measurement as (device, unit, time ms, value).</summary>
    public async Task<IReadOnlyList<(string Device, string? Unit, long TimeMs, double Value)>> PointsAsync(string database, string measurement)
    {
        var series = await QueryAsync(database, $"SELECT \"value\" FROM \"{measurement}\" GROUP BY *");
        var points = new List<(string, string?, long, double)>();
        foreach (var one in series.EnumerateArray())
        {
            var tags = one.GetProperty("tags");
            var device = tags.GetProperty("device").GetString()!;
            var unit = tags.TryGetProperty("unit", out var u) && u.GetString() is { Length: > 0 } text ? text : null;
            foreach (var row in one.GetProperty("values").EnumerateArray())
                points.Add((device, unit, row[0].GetInt64(), row[1].GetDouble()));
        }

        return points;
    }

    /// <summary>Runs a statement that answers no rows (CREATE DATABASE, DROP MEASUREMENT).</summary>
    public Task ExecuteAsync(string database, string statement) => QueryAsync(database, statement);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Process.DisposeAsync();
        _dir.Dispose();
    }
}
