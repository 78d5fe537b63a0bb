using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary><c>/metrics</c>: what Prometheus scrapes, checked by Debian's promtool and against what the hub did.</summary>
public sealed class MetricsTests
{
    private static double Value(string metrics, string name, string labels = "")
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + (labels.Length > 0 ? "{" + labels : " "), StringComparison.Ordinal)
            || (labels.Length == 0 && l.StartsWith(name + "{", StringComparison.Ordinal)));
        Assert.True(line is not null, $"no {name}{{{labels}}} in:\n{metrics}");
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Metrics_count_what_the_hub_stored_and_refused_pass_promtool_and_need_a_credential()
    {
        // With the guest view on: visitors read the dashboards, not the hub's operations.
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:CheckpointSeconds"] = "1", ["Hub:GuestView"] = "true" });
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        var items = string.Join(",", Enumerable.Range(0, 30).Select(i => $"{{\"m\":\"temperature\",\"v\":{20 + (i / 10.0):0.0},\"t\":{t0 + (i * 1000L)}}}"));
        Assert.True((await client.PublishAsync("grid/met1/batch", $"{{\"readings\":[{items}]}}")).IsSuccess);
        Assert.False((await client.PublishAsync("grid/met1/batch", "{\"readings\":[{\"m\":\"temperature\",\"v\":\"warm\",\"t\":1}]}")).IsSuccess); // refused, with the reason

        var metrics = await Eventually.WaitForAsync(
            async () => await hub.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            m => m.Contains("grid_edge_ingest_readings_stored", StringComparison.Ordinal) && Value(m, "grid_edge_ingest_readings_stored") >= 30
                && m.Contains("grid_edge_ingest_readings_rejected", StringComparison.Ordinal) && m.Contains("grid_edge_store_checkpoint_duration_seconds_count", StringComparison.Ordinal),
            "the readings and the refusal to be counted and a checkpoint to run");

        Assert.Equal(30, Value(metrics, "grid_edge_ingest_readings_stored"));
        Assert.Equal(1, Value(metrics, "grid_edge_ingest_readings_rejected", "reason=\"unparsable_payload\""));
        Assert.True(Value(metrics, "grid_edge_store_points") >= 30);
        Assert.True(Value(metrics, "grid_edge_mqtt_connections") >= 1);
        Assert.Contains("process_cpu_seconds_total", metrics, StringComparison.Ordinal);

        // Prometheus' own checker: format and naming conventions.
        var promtool = new ProcessStartInfo("promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using (var check = Process.Start(promtool)!)
        {
            await check.StandardInput.WriteAsync(metrics);
            check.StandardInput.Close();
            var output = await check.StandardOutput.ReadToEndAsync() + await check.StandardError.ReadToEndAsync();
            await check.WaitForExitAsync();
            Assert.True(check.ExitCode == 0, $"promtool check metrics: {output}\n{metrics}");
        }

        // Without a session or a token there is nothing to read, guest view or not.
        using var anonymous = hub.NewClient();
        var refused = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("grid_edge", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
