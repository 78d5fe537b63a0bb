using Grid.Edge.Hub.Testing;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Queries cannot ask the hub for more than it will answer: times are clamped to what the store can hold, steps
/// and points are capped, and what goes beyond gets a 400 that says what to change.
/// </summary>
public sealed class QueryLimitTests(HubFixture fixture) : IClassFixture<HubFixture>
{
    private InProcessHub Hub => fixture.Hub;

    private async Task PublishAsync(string device, params string[] metrics)
    {
        using var client = await TestMqtt.ConnectAsync(Hub.Mqtt);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var readings = string.Join(',', metrics.SelectMany(m => Enumerable.Range(0, 3).Select(i => $$"""{"m":"{{m}}","v":{{i}},"t":{{now - (i * 1000)}}}""")));
        Assert.True((await client.PublishAsync($"grid/{device}/batch", $$"""{"readings":[{{readings}}]}""")).IsSuccess);
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await Hub.Http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_overflow_query_gets_a_400_with_a_sentence_and_the_hub_answers_on()
    {
        await PublishAsync("limits-1", "temperature");
        var (status, body) = await GetAsync("/api/series/limits-1/temperature/points?from=-9223372036854775807&to=9223372036854775807&step=1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"the range holds more than {ApiEndpoints.MaxBuckets} steps of 1; use a larger step or a shorter range", body, StringComparison.Ordinal);

        // The same range in one step, and raw, answers every point: the times are clamped, not wrapped.
        var one = (await Hub.GetAsync<PointsResponse>($"/api/series/limits-1/temperature/points?from=-9223372036854775807&to=9223372036854775807&step={long.MaxValue}&agg=count"))!;
        Assert.Equal(3, one.Points.Sum(p => p[1]));
        var raw = (await Hub.GetAsync<PointsResponse>("/api/series/limits-1/temperature/points?from=-9223372036854775807&to=9223372036854775807"))!;
        Assert.Equal(3, raw.Points.Count);
        Assert.Equal((StoreTime.MinMs, StoreTime.MaxMs), (raw.From, raw.To));
        var summary = (await Hub.GetAsync<SummaryResponse>("/api/series/limits-1/temperature/summary?from=-9223372036854775807&to=9223372036854775807"))!;
        Assert.Equal((3, 1.0), (summary.Count, summary.Mean));
        Assert.Equal(3, (await Hub.GetAsync<SummaryResponse>($"/api/series/limits-1/temperature/summary?from=0&to={long.MaxValue}"))!.Count);
    }

    [Theory]
    [InlineData("from=-30d&step=1s", "more than 100000 steps of 1s")]
    [InlineData("from=0&to=now&step=1m", "more than 100000 steps of 1m")]
    [InlineData("from=-2d&step=1", "more than 100000 steps of 1")]
    [InlineData("limit=1000001", "limit must be between 1 and 1000000")]
    [InlineData("limit=0", "limit must be between 1 and 1000000")]
    [InlineData("from=-9223372036854775808", "is not a relative time")]
    [InlineData("step=0", "is not a duration")]
    [InlineData($"step=99999999999999999999", "is not a duration")]
    public async Task Too_large_ranges_steps_and_limits_get_a_400_that_says_what_to_change(string query, string sentence)
    {
        await PublishAsync("limits-2", "temperature");
        var (status, body) = await GetAsync("/api/series/limits-2/temperature/points?" + query);
        Assert.True(status == HttpStatusCode.BadRequest, $"{query}: {status} {body}");
        Assert.Contains(sentence, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_query_is_capped_over_all_of_its_series()
    {
        var metrics = Enumerable.Range(0, 20).Select(i => "m" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        await PublishAsync("limits-3", metrics);
        var (status, body) = await GetAsync("/api/devices/limits-3/points?from=-60d&step=1m");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"for each of the device's 20 series, more than {ApiEndpoints.MaxDeviceBuckets} in all", body, StringComparison.Ordinal);

        // Within the cap it answers every series.
        using var response = await Hub.Http.GetAsync("/api/devices/limits-3/points?from=-1h&step=1m&agg=count");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(20, json.RootElement.GetProperty("series").EnumerateObject().Count());
    }
}
