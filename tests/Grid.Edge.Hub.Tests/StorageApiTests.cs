using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

public sealed class StorageApiTests
{
    [Fact]
    public async Task Storage_reports_chunks_rollups_bytes_and_retention()
    {
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:CheckpointSeconds"] = "1",
            ["Hub:RetentionRules:0:Pattern"] = "demo-*/*",
            ["Hub:RetentionRules:0:RawDays"] = "7",
        });
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        var t0 = DateTimeOffset.UtcNow.AddHours(-3).ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        var items = string.Join(",", Enumerable.Range(0, 2 * 3600 / 10).Select(i => $"{{\"m\":\"temperature\",\"v\":{20 + i % 50 / 10.0:0.0},\"t\":{t0 + i * 10_000L}}}"));
        Assert.True((await client.PublishAsync("grid/ws9/batch", $"{{\"readings\":[{items}]}}")).IsSuccess);

        var storage = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<StorageResponse>("/api/storage"))!,
            s => s.Series.Any(x => x.Id == "ws9/temperature" && x.RawPoints == 720),
            "the checkpoint to write the chunks");
        var series = storage.Series.Single(x => x.Id == "ws9/temperature");
        Assert.Equal(2, series.Chunks); // two hourly buckets
        Assert.Equal(120, series.MinuteRollups);
        Assert.Equal(2, series.HourRollups);
        Assert.InRange(series.BytesPerPoint, 0.01, 2);
        Assert.Equal((await hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!.Hub.Id, storage.Origin); // the store stamps with the hub id
        Assert.True(storage.Checkpoints >= 1);
        Assert.True(storage.LogBytesWritten > 0);
        Assert.True(storage.BytesWrittenPerReading > 0);
        Assert.Equal(new RetentionResponse("demo-*/*", 7, 730, null), storage.Retention[0]);
        Assert.Equal(new RetentionResponse("*", 90, 730, null), storage.Retention[^1]);

        var hourly = (await hub.GetAsync<PointsResponse>($"/api/series/ws9/temperature/points?from={t0}&to={t0 + 7_200_000}&step=1h&agg=count"))!;
        Assert.Equal([[t0, 360.0], [t0 + 3_600_000, 360.0]], hourly.Points);
    }
}
