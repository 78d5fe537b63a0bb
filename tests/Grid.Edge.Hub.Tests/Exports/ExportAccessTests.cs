using System.Net.Http.Json;
using System.Net.Sockets;
using Grid.Edge.Hub.Exports;
using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests.Exports;

public sealed class ExportAccessTests
{
    [Fact]
    public async Task Guests_see_how_an_export_keeps_up_but_not_its_target_or_errors()
    {
        // A target that refuses connections: a port this test holds bound and never listens on.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)closed.LocalEndPoint!).Port;
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:GuestView"] = "true",
            ["Hub:Exports:0:Name"] = "lake",
            ["Hub:Exports:0:Kind"] = "influx1",
            ["Hub:Exports:0:Url"] = $"http://127.0.0.1:{port}",
            ["Hub:Exports:0:Database"] = "secret_db",
        });
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        Assert.True((await client.PublishAsync("grid/acc1/temperature", "20.5")).IsSuccess);

        var admin = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<List<ExportState>>("/api/exports"))!.Single(),
            e => e.LastError is not null,
            "the export to fail against the closed port");
        Assert.Contains("secret_db", admin.Target, StringComparison.Ordinal);

        using var guest = hub.NewClient();
        var seen = (await guest.GetFromJsonAsync<List<ExportState>>("/api/exports", Json.Options))!.Single();
        Assert.Equal("lake", seen.Name);
        Assert.Equal(admin.State, seen.State);
        Assert.Equal("", seen.Target);
        Assert.DoesNotContain(port.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.LastError ?? "", StringComparison.Ordinal);
        Assert.Equal("failing (the admin sees why)", seen.LastError);

        // Monitoring sees the same: the export is failing and behind.
        var metrics = await hub.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("grid_edge_export_failing{export=\"lake\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("grid_edge_export_behind_points\\{export=\"lake\"\\} [1-9]", metrics);
    }
}
