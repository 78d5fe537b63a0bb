using Grid.Edge.Hub.Testing;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

public sealed class LiveStreamTests(HubFixture fixture) : IClassFixture<HubFixture>
{
    private readonly InProcessHub _hub = fixture.Hub;

    [Fact]
    public async Task Stored_readings_arrive_as_server_sent_events_filtered_by_series()
    {
        var device = "live-" + Guid.NewGuid().ToString("N")[..8];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _hub.Http.GetAsync($"/api/live?series={device}/temperature", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        // The stream says it is connected before anything is published, so no reading can be missed.
        while (await reader.ReadLineAsync(timeout.Token) is { } line && line != ": connected")
        {
        }

        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await client.PublishAsync($"grid/{device}/humidity", "50");
        await client.PublishAsync($"grid/{device}/temperature", """{"v":19.5,"t":1795330000000}""");

        string? eventName = null;
        LiveReading? reading = null;
        while (reading is null && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                eventName = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
                reading = JsonSerializer.Deserialize<LiveReading>(line[6..], Json.Options);
        }

        Assert.Equal("reading", eventName);
        Assert.Equal(new LiveReading($"{device}/temperature", device, "temperature", 1795330000000, 19.5, "degC"), reading);
    }

    [Fact]
    public async Task A_bad_series_filter_is_400()
    {
        var response = await _hub.Http.GetAsync("/api/live?series=not-a-series");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
    }
}
