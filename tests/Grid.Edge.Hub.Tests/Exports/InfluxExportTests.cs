using System.Net;
using System.Net.Http.Json;
using Grid.Edge.Hub.Exports;
using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Servers;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>
/// Continuous export to a real InfluxDB 1.x (Debian's influxd, started here on 127.0.0.1): every point arrives once,
/// with its tags and its own time, through an outage of the target and a hub killed and started again; the counts
/// and values are read back from InfluxDB.
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class InfluxExportTests : IAsyncLifetime
{
    private const string Database = "grid";
    private const string Unit = "k,W=h"; // a tag value the line protocol must escape
    private InfluxServer _influx = null!;

    public async Task InitializeAsync()
    {
        Assert.True(InfluxServer.Installed, "influxd is missing: apt-get install influxdb (tests/run-tests.sh does)");
        _influx = await InfluxServer.StartAsync();
        await _influx.ExecuteAsync(Database, $"CREATE DATABASE {Database}");
    }

    public async Task DisposeAsync() => await _influx.DisposeAsync();

    [Fact]
    public async Task Every_selected_point_reaches_influxdb_once_with_its_tags_and_time_and_the_api_shows_the_export()
    {
        await using var hub = await InProcessHub.StartAsync(Settings(("Series:0", "plant*/*"), ("Username", "hub"), ("Password", "pa55-never-shown")));
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        await ExportData.PublishAsync(client, "plant1", "flow", Unit, 0, 1200);
        await ExportData.PublishAsync(client, "plant2", "flow", Unit, 0, 10);
        await ExportData.PublishAsync(client, "office", "flow", Unit, 0, 10); // not selected

        await ExportData.WaitForAsync(() => _influx.PointsAsync(Database, "flow"), 1210, "flow");
        var points = await _influx.PointsAsync(Database, "flow");
        ExportData.AssertExactly([.. points.Where(p => p.Device == "plant1")], "plant1", Unit, 1200);
        ExportData.AssertExactly([.. points.Where(p => p.Device == "plant2")], "plant2", Unit, 10);
        Assert.DoesNotContain(points, p => p.Device == "office");

        var state = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<List<ExportState>>("/api/exports"))!.Single(),
            s => s.LagPoints == 0 && s.PointsSent >= 1210,
            "the export in step");
        Assert.Equal(("lake", "influx1", $"{_influx.Http.ToString().TrimEnd('/')} db={Database}", "live"), (state.Name, state.Kind, state.Target, state.State));
        Assert.NotNull(state.LastSuccess);
        Assert.Null(state.LastError);
        Assert.Equal(0, state.LagMs);
        var raw = await hub.Http.GetStringAsync("/api/exports");
        Assert.DoesNotContain("pa55-never-shown", raw, StringComparison.Ordinal);
        Assert.DoesNotContain(hub.Logs.Entries, e => e.Message.Contains("pa55-never-shown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_outage_of_influxdb_delays_the_points_shows_why_and_loses_none()
    {
        // A short queue: most of what arrives during the outage is read again from the store afterwards.
        await using var hub = await InProcessHub.StartAsync(Settings(("MaxQueuedPoints", "1000")));
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        await ExportData.PublishAsync(client, "plant1", "flow", Unit, 0, 500);
        await ExportData.WaitForAsync(() => _influx.PointsAsync(Database, "flow"), 500, "flow before the outage");

        await _influx.Process.KillAsync();
        await ExportData.PublishAsync(client, "plant1", "flow", Unit, 500, 3000);
        var failing = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<List<ExportState>>("/api/exports"))!.Single(),
            s => s.LastError is not null && s.LagPoints > 0 && s.State == "retrying",
            "the export to report the outage");
        Assert.Contains("cannot be reached", failing.LastError, StringComparison.Ordinal);
        Assert.Contains("check that the server runs", failing.LastError, StringComparison.Ordinal);

        await _influx.Process.StartAgainAsync();
        await ExportData.WaitForAsync(() => _influx.PointsAsync(Database, "flow"), 3500, "flow after the outage");
        ExportData.AssertExactly(await _influx.PointsAsync(Database, "flow"), "plant1", Unit, 3500);
        var state = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<List<ExportState>>("/api/exports"))!.Single(),
            s => s.LastError is null && s.LagPoints == 0,
            "the export back in step");
        Assert.NotNull(state.LastSuccess);
    }

    [Fact]
    public async Task Points_survive_sigkill_restarts_of_the_hub_and_a_backfill_from_the_command_line_sends_them_again()
    {
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "hub.json");
        await File.WriteAllTextAsync(config, "{\"Hub\":{\"Exports\":[{\"Name\":\"lake\",\"Kind\":\"influx1\",\"Url\":\"" + _influx.Http + "\",\"Database\":\"" + Database + "\"}]}}");
        var data = Path.Combine(dir.Path, "data");
        var published = 0;
        for (var round = 0; round < 3; round++)
        {
            await using var hub = await HubProcess.StartAsync(data, "--config", config);
            using (var client = await TestMqtt.ConnectAsync(hub.Mqtt))
                await ExportData.PublishAsync(client, "plant1", "flow", Unit, published, 1500);
            published += 1500;
            await hub.KillAsync(); // SIGKILL: the acknowledged points are in the store's log, not all at the target yet
        }

        await using (var hub = await HubProcess.StartAsync(data, "--config", config))
        {
            await ExportData.WaitForAsync(() => _influx.PointsAsync(Database, "flow"), published, "flow after the restarts");
            ExportData.AssertExactly(await _influx.PointsAsync(Database, "flow"), "plant1", Unit, published);
            var cursor = Path.Combine(data, "exports", "lake.json");
            Assert.True(File.Exists(cursor), "the export keeps its cursor in the data folder");

            await _influx.ExecuteAsync(Database, "DROP MEASUREMENT flow");
            Assert.Empty(await _influx.PointsAsync(Database, "flow"));
            var (exit, output) = await HubProcess.RunToEndAsync(null, "export", "backfill", "lake", "--from", ExportData.Start.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", data);
            Assert.True(exit == 0, output);
            Assert.Contains("Export 'lake' sends 1 series again", output, StringComparison.Ordinal);
            await ExportData.WaitForAsync(() => _influx.PointsAsync(Database, "flow"), published, "flow after the backfill");
            ExportData.AssertExactly(await _influx.PointsAsync(Database, "flow"), "plant1", Unit, published);

            var (statusExit, status) = await HubProcess.RunToEndAsync(null, "export", "status", "--data-dir", data);
            Assert.True(statusExit == 0, status);
            Assert.Contains($"lake (influx1 -> {_influx.Http.ToString().TrimEnd('/')} db={Database}): ", status, StringComparison.Ordinal);
            Assert.Contains("last success", status, StringComparison.Ordinal);

            var (unknownExit, unknown) = await HubProcess.RunToEndAsync(null, "export", "backfill", "nope", "--from", "-1d", "--data-dir", data);
            Assert.NotEqual(0, unknownExit);
            Assert.Contains("There is no export named 'nope'", unknown, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = hub.Http.BaseAddress }.PostAsJsonAsync("/api/exports/lake/backfill", new BackfillRequest("0"))).StatusCode);
        }
    }

    private Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hub:Exports:0:Name"] = "lake",
            ["Hub:Exports:0:Kind"] = "influx1",
            ["Hub:Exports:0:Url"] = _influx.Http.ToString(),
            ["Hub:Exports:0:Database"] = Database,
        };
        foreach (var (key, value) in extra)
            settings["Hub:Exports:0:" + key] = value;
        return settings;
    }
}
