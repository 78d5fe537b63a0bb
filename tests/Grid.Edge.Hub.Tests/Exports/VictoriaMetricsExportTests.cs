using System.Net.Http.Json;
using Grid.Edge.Hub.Exports;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Servers;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>
/// Continuous export through the InfluxDB 2.x write API (InfluxDB.Client) to a real VictoriaMetrics (Debian's
/// victoria-metrics, started here on 127.0.0.1 with one sample kept per series and millisecond): every point
/// arrives once across SIGKILLed hubs and an outage of the target; read back with /api/v1/export.
/// </summary>
[Collection(HubProcessGroup.Name)]
public sealed class VictoriaMetricsExportTests : IAsyncLifetime
{
    private const string Unit = "k,W=h";
    private VictoriaMetricsServer _vm = null!;

    public async Task InitializeAsync()
    {
        Assert.True(VictoriaMetricsServer.Installed, "victoria-metrics is missing: apt-get install victoria-metrics (tests/run-tests.sh does)");
        _vm = await VictoriaMetricsServer.StartAsync();
    }

    public async Task DisposeAsync() => await _vm.DisposeAsync();

    [Fact]
    public async Task Every_point_reaches_victoria_metrics_once_across_sigkills_of_the_hub_and_an_outage_of_the_target()
    {
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "hub.json");
        await File.WriteAllTextAsync(config, "{\"Hub\":{\"Exports\":[{\"Name\":\"vm\",\"Kind\":\"influx2\",\"Url\":\"" + _vm.Http + "\",\"Org\":\"home\",\"Bucket\":\"grid\",\"Token\":\"t0ken-never-shown\",\"Series\":\"plant*/*\"}]}}");
        var data = Path.Combine(dir.Path, "data");
        var published = 0;
        for (var round = 0; round < 2; round++)
        {
            await using var hub = await HubProcess.StartAsync(data, "--config", config);
            using (var client = await TestMqtt.ConnectAsync(hub.Mqtt))
                await ExportData.PublishAsync(client, "plant1", "flow", Unit, published, 1500);
            published += 1500;
            await hub.KillAsync();
        }

        await using (var hub = await HubProcess.StartAsync(data, "--config", config))
        {
            await ExportData.WaitForAsync(Points, published, "flow_value after the restarts");
            await _vm.Process.StopAsync(); // not SIGKILL: VictoriaMetrics 1.79 then loses the samples it took in its last seconds, acknowledged or not
            using (var client = await TestMqtt.ConnectAsync(hub.Mqtt))
            {
                await ExportData.PublishAsync(client, "plant1", "flow", Unit, published, 1500);
                await ExportData.PublishAsync(client, "office", "flow", Unit, 0, 10); // not selected
            }

            published += 1500;
            var failing = await Eventually.WaitForAsync(
                async () => (await hub.Http.GetFromJsonAsync<List<ExportState>>("/api/exports", Json.Options))!.Single(),
                s => s.LastError is not null && s.LagPoints > 0,
                "the export to report the outage");
            Assert.Equal(("vm", "influx2", "retrying"), (failing.Name, failing.Kind, failing.State));
            Assert.Contains("cannot be reached", failing.LastError, StringComparison.Ordinal);

            await _vm.Process.StartAgainAsync();
            await ExportData.WaitForAsync(Points, published, "flow_value after the outage");
            ExportData.AssertExactly(await Points(), "plant1", Unit, published);
            var state = await Eventually.WaitForAsync(
                async () => (await hub.Http.GetFromJsonAsync<List<ExportState>>("/api/exports", Json.Options))!.Single(),
                s => s.LastError is null && s.LagPoints == 0,
                "the export back in step");
            Assert.NotNull(state.LastSuccess);
            Assert.DoesNotContain("t0ken-never-shown", await hub.Http.GetStringAsync("/api/exports"), StringComparison.Ordinal);
            Assert.DoesNotContain("t0ken-never-shown", hub.Output, StringComparison.Ordinal);
        }
    }

    private async Task<IReadOnlyList<(string Device, string? Unit, long TimeMs, double Value)>> Points()
    {
        await _vm.FlushAsync();
        return await _vm.PointsAsync("flow_value");
    }
}
