using Grid.Edge.Hub.Testing;
using System.Globalization;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>Clients we did not write: Mosquitto's command-line tools against the hub's broker.</summary>
public sealed class MosquittoInteropTests(HubFixture fixture) : IClassFixture<HubFixture>
{
    private readonly InProcessHub _hub = fixture.Hub;

    private string Port => _hub.Mqtt.Port.ToString(CultureInfo.InvariantCulture);

    private static Task<(int ExitCode, string Output)> RunAsync(string tool, params string[] args) => Mosquitto.RunAsync(tool, args);

    [Fact]
    public async Task Mosquitto_pub_readings_are_stored_over_mqtt_3_1_1_and_5()
    {
        var device = "mosq-" + Guid.NewGuid().ToString("N")[..8];
        var (exit, output) = await RunAsync("mosquitto_pub", "-h", "127.0.0.1", "-p", Port, "-q", "1", "-t", $"grid/{device}/temperature", "-m", "21.5");
        Assert.True(exit == 0, output);
        (exit, output) = await RunAsync("mosquitto_pub", "-h", "127.0.0.1", "-p", Port, "-V", "mqttv5", "-q", "1", "-t", $"grid/{device}/batch", "-m", """{"readings":[{"m":"humidity","v":48,"t":"2026-11-22T10:00:00Z"}]}""");
        Assert.True(exit == 0, output);

        var series = (await _hub.GetAsync<List<SeriesResponse>>("/api/series"))!.Where(s => s.Device == device).OrderBy(s => s.Metric, StringComparer.Ordinal).ToList();
        Assert.Equal(["humidity", "temperature"], series.Select(s => s.Metric));
        Assert.Equal(21.5, series[1].Latest.V);
    }

    [Fact]
    public async Task Mosquitto_pub_learns_of_a_refused_payload_over_mqtt_5()
    {
        var device = "mosq-" + Guid.NewGuid().ToString("N")[..8];
        var (_, output) = await RunAsync("mosquitto_pub", "-h", "127.0.0.1", "-p", Port, "-V", "mqttv5", "-q", "1", "-t", $"grid/{device}/temperature", "-m", "warm");
        Assert.Contains("Payload format invalid", output, StringComparison.Ordinal);
        var rejections = (await _hub.GetAsync<RejectionsResponse>($"/api/ingest/rejections?device={device}"))!;
        Assert.Equal("unparsable_payload", Assert.Single(rejections.Recent).Reason);
    }

    [Fact]
    public async Task Mosquitto_sub_receives_retained_status_and_live_readings()
    {
        var device = "mosq-" + Guid.NewGuid().ToString("N")[..8];
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await client.PublishAsync($"grid/{device}/status", "online", retain: true);

        var (exit, output) = await RunAsync("mosquitto_sub", "-h", "127.0.0.1", "-p", Port, "-t", $"grid/{device}/status", "-C", "1", "-W", "20", "-v");
        Assert.True(exit == 0, output);
        Assert.Equal($"grid/{device}/status online", output.Trim());

        var subscriber = RunAsync("mosquitto_sub", "-h", "127.0.0.1", "-p", Port, "-t", $"grid/{device}/temperature", "-C", "1", "-W", "20", "-v", "-q", "1");
        await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<HealthResponse>("/api/health"))!.Mqtt.Clients,
            clients => clients >= 2,
            "mosquitto_sub to connect");
        // The subscription follows the connection closely; publish until it has arrived.
        var published = 0;
        while (!subscriber.IsCompleted && published++ < 100)
        {
            await client.PublishAsync($"grid/{device}/temperature", "19.25");
            await Task.WhenAny(subscriber, Task.Delay(100));
        }

        (exit, output) = await subscriber;
        Assert.True(exit == 0, output);
        Assert.Equal($"grid/{device}/temperature 19.25", output.Trim());
    }
}
