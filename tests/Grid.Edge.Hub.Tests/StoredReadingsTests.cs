using Grid.Edge.Hub.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Every way a reading gets stored (MQTT ingest, an HTTP route, what the hub derives, a merge from another hub) goes
/// through one writer, and the live feed, derived values, alerts and vehicles hear of it by its origin.
/// </summary>
public sealed class StoredReadingsTests(HubFixture fixture) : IClassFixture<HubFixture>
{
    private readonly InProcessHub _hub = fixture.Hub;

    private static string NewDevice(string kind) => kind + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_reading_stored_through_an_HTTP_route_reaches_the_live_feed_and_the_alerts()
    {
        var van = NewDevice("van");
        using var mqtt = await TestMqtt.ConnectAsync(_hub.Mqtt);
        Assert.True((await mqtt.PublishAsync($"grid/{van}/status", "online")).IsSuccess); // vehicle records are for known devices
        await using var live = await LiveStream.OpenAsync(_hub, van);

        // A person enters the dashboard odometer and the oil change of 16,000 km ago (its interval is 15,000 km).
        using (var anchor = await _hub.Http.PostAsJsonAsync($"/api/vehicle/{van}/odometer", new OdometerRequest(120_000)))
            Assert.True(anchor.IsSuccessStatusCode);
        using (var done = await _hub.Http.PostAsJsonAsync($"/api/vehicle/{van}/service/oil/done", new ServiceDoneRequest(104_000, DateOnly.FromDateTime(DateTime.UtcNow.AddDays(-30)))))
            Assert.True(done.IsSuccessStatusCode);

        var odometer = await live.NextAsync(r => r.Metric == "virtual_odometer");
        Assert.Equal(120_000, odometer.V);
        var due = await live.NextAsync(r => r.Metric == "service_due" && r.V > 0);
        Assert.Equal("", due.Unit);

        var alert = await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<AlertsResponse>("/api/alerts"))!.Active.FirstOrDefault(a => a.RuleId == "service-due" && a.Subject == van),
            a => a is not null,
            "the service-due alert of " + van);
        Assert.Equal(1, alert!.Values["service_due"]);
    }

    [Fact]
    public async Task Readings_merged_from_another_hub_stream_live_but_are_not_derived_from_or_alerted_on_here()
    {
        var remote = NewDevice("remote");
        var local = NewDevice("local");
        var writer = _hub.Services.GetRequiredService<ReadingWriter>();
        var store = _hub.Services.GetRequiredService<ITimeSeriesStore>();
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 120_000;
        await using var live = await LiveStream.OpenAsync(_hub, remote);

        // What derived weather and the coolant-rising alert (9 degC in a minute above 100 degC) would both react to.
        StampedReading Remote(string metric, long at, double value, string unit) =>
            new(new Reading(new SeriesKey(remote, metric), at, value, unit), new WriteStamp(WriteStamp.HlcOf(at) + 1, "hub-elsewhere"));
        var merged = await writer.MergeAsync(
        [
            Remote("temperature", t, 20, "degC"), Remote("humidity", t, 60, "%"),
            Remote("coolant_temp", t - 60_000, 101, "degC"), Remote("coolant_temp", t, 110, "degC"),
        ]);
        Assert.Equal(4, merged.Stored.Count);
        Assert.Equal(20, (await live.NextAsync(r => r.Metric == "temperature")).V);

        // The same readings from a device of this hub are derived from and alerted on. Both consumers work through
        // their queues in order, so once the local results exist the merged readings have been passed over.
        using var mqtt = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var batch = $$"""{"readings":[{"m":"temperature","v":20,"t":{{t}}},{"m":"humidity","v":60,"t":{{t}}},{"m":"coolant_temp","v":101,"t":{{t - 60_000}}},{"m":"coolant_temp","v":110,"t":{{t}}}]}""";
        Assert.True((await mqtt.PublishAsync($"grid/{local}/batch", batch)).IsSuccess);
        await Eventually.WaitForAsync(() => Task.FromResult(store.TryGetSeries(new SeriesKey(local, "dew_point"), out _)), found => found, "the local station's dew point");
        await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<AlertsResponse>("/api/alerts"))!.Active.Any(a => a.RuleId == "coolant-rising" && a.Subject == local),
            firing => firing,
            "the local van's coolant-rising alert");

        Assert.False(store.TryGetSeries(new SeriesKey(remote, "dew_point"), out _), "derived from a merged reading");
        Assert.DoesNotContain((await _hub.GetAsync<AlertsResponse>("/api/alerts"))!.Active, a => a.Subject == remote);
    }

    [Fact]
    public async Task A_consumer_that_throws_neither_fails_the_write_nor_keeps_the_others_from_hearing()
    {
        // A hub of its own: the consumer's failure is logged as an error, which the shared hub counts as a test failure.
        await using var hub = await InProcessHub.StartAsync();
        var writer = hub.Services.GetRequiredService<ReadingWriter>();
        var heard = new TaskCompletionSource<ReadingsStored>(TaskCreationOptions.RunContinuationsAsynchronously);
        writer.Stored += _ => throw new InvalidOperationException("a consumer's bug");
        writer.Stored += stored => heard.TrySetResult(stored);
        await using var live = await LiveStream.OpenAsync(hub, "station");
        using var mqtt = await TestMqtt.ConnectAsync(hub.Mqtt);
        Assert.True((await mqtt.PublishAsync("grid/station/temperature", "21.5")).IsSuccess);

        var stored = await heard.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ReadingOrigin.Device, stored.Origin);
        Assert.Equal(21.5, (await live.NextAsync(r => r.Metric == "temperature")).V);
        Assert.Equal(1, writer.HandlerFailures);
        Assert.Contains(hub.Logs.Errors, e => e.Contains("a consumer's bug", StringComparison.Ordinal));
        var points = await hub.Services.GetRequiredService<ITimeSeriesStore>().ReadRangeAsync(new SeriesKey("station", "temperature"), 0, long.MaxValue, 10);
        Assert.Equal(21.5, Assert.Single(points).Value);
    }

    [Fact]
    public async Task Stored_columns_are_handed_on_per_series()
    {
        var device = NewDevice("bulk");
        var writer = _hub.Services.GetRequiredService<ReadingWriter>();
        var heard = new TaskCompletionSource<ReadingsStored>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<ReadingsStored> listening = stored =>
        {
            if (stored.Readings.Any(r => r.Series.Device == device))
                heard.TrySetResult(stored);
        };
        writer.Stored += listening;
        try
        {
            var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            SeriesColumns Columns(string metric, string unit, params double[] values) =>
                new(new SeriesKey(device, metric), unit, [.. values.Select((_, i) => t + (i * 1000L))], values);
            await writer.AppendColumnsAsync([Columns("temperature", "degC", 1, 2, 3), Columns("pm25", "ug/m3", 4, 5)], ReadingOrigin.Device);

            var stored = await heard.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal([1, 2, 3, 4, 5], stored.Readings.Select(r => r.Value));
            Assert.Equal([1, 2, 3], stored.Of(new HashSet<string> { "temperature", "wind_speed" }).Select(r => r.Value));
            Assert.Empty(stored.Of(new HashSet<string> { "wind_speed" }));
            Assert.Equal([(3.0, t + 2000), (5.0, t + 1000)], stored.Latest().Select(r => (r.Value, r.TimestampMs)));
        }
        finally
        {
            writer.Stored -= listening;
        }
    }

    /// <summary>The hub's live stream of one device, read event by event.</summary>
    private sealed class LiveStream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;
        private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));

        private LiveStream(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            _reader = reader;
        }

        public static async Task<LiveStream> OpenAsync(InProcessHub hub, string device)
        {
            var response = await hub.Http.GetAsync($"/api/live?device={device}", HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            var stream = new LiveStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));

            // The stream says it is connected before anything is published, so no reading can be missed.
            while (await stream._reader.ReadLineAsync(stream._timeout.Token) is { } line && line != ": connected")
            {
            }

            return stream;
        }

        public async Task<LiveReading> NextAsync(Func<LiveReading, bool> wanted)
        {
            while (await _reader.ReadLineAsync(_timeout.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonSerializer.Deserialize<LiveReading>(line[6..], Json.Options) is { } reading && wanted(reading))
                    return reading;
            }

            throw new EndOfStreamException("the live stream ended");
        }

        public ValueTask DisposeAsync()
        {
            _timeout.Dispose();
            _reader.Dispose();
            _response.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
