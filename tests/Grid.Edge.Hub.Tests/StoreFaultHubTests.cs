using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Testing.Storage;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// The hub over real MQTT with faults put under its store's log: no PUBACK for a message that is not durable, the
/// connection closed so the device resends, /api/health saying so, and the hub back to normal by itself.
/// </summary>
public sealed class StoreFaultHubTests
{
    private static Action<IServiceCollection> StoreOn(SimulatedDisk disk) => services =>
        services.AddSingleton(sp => ChunkedTimeSeriesStore.Open(
            new ChunkStoreOptions
            {
                DataDirectory = Path.Combine(sp.GetRequiredService<Configuration.HubOptions>().DataDir, "store"),
                Files = disk,
                RecoveryInterval = TimeSpan.FromMilliseconds(100),
            },
            sp.GetRequiredService<ILogger<ChunkedTimeSeriesStore>>()));

    [Fact]
    public async Task A_publish_during_a_log_fault_gets_no_puback_and_its_connection_closes_and_the_resend_after_is_stored()
    {
        var disk = new SimulatedDisk();
        await using var hub = await InProcessHub.StartAsync(replace: StoreOn(disk));
        var store = hub.Services.GetRequiredService<ITimeSeriesStore>();
        const string Topic = "grid/ws-fault/temperature";
        var series = new SeriesKey("ws-fault", "temperature");
        var payload = "{\"v\":21.5,\"t\":\"2026-11-22T10:00:00Z\"}";

        // The card is full from the next log write on, until it is cleared.
        disk.Fail(DiskOp.Write, disk.Count(DiskOp.Write) + 1, count: int.MaxValue - disk.Count(DiskOp.Write) - 1);
        var client = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "ws-fault-1");
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.DisconnectedAsync += _ =>
        {
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        await Assert.ThrowsAnyAsync<Exception>(() => client.PublishAsync(Topic, payload));
        await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(client.IsConnected);
        client.Dispose();
        Assert.Empty(await store.ReadRangeAsync(series, 0, long.MaxValue, 10));

        var degraded = (await hub.GetAsync<HealthResponse>("/api/health"))!;
        Assert.Equal("degraded", degraded.Status);
        Assert.Equal("degraded", degraded.Store.State);
        Assert.Contains("No space left on device", degraded.Problem, StringComparison.Ordinal);
        Assert.True(degraded.Store.LogFailures >= 1);

        // While the card stays full the hub keeps acknowledging nothing (the recovery keeps failing).
        var again = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "ws-fault-2");
        await Assert.ThrowsAnyAsync<Exception>(() => again.PublishAsync(Topic, payload));
        again.Dispose();
        Assert.Empty(await store.ReadRangeAsync(series, 0, long.MaxValue, 10));

        // Space is freed: the hub recovers by itself and the device's resend is stored and acknowledged.
        disk.ClearFaults();
        var ok = await Eventually.WaitForAsync(async () => (await hub.GetAsync<HealthResponse>("/api/health"))!, h => h.Status == "ok", "the store's recovery");
        Assert.Equal("ok", ok.Store.State);
        Assert.Null(ok.Problem);
        Assert.True(ok.Store.Recoveries >= 1);
        using var resend = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "ws-fault-3");
        var ack = await resend.PublishAsync(Topic, payload);
        Assert.True(ack.IsSuccess, ack.ReasonCode.ToString());
        Assert.Equal([new DataPoint(1_795_341_600_000, 21.5)], await store.ReadRangeAsync(series, 0, long.MaxValue, 10));
        Assert.Contains(hub.Logs.Warnings, w => w.Contains("Closing MQTT client 'ws-fault-1'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unexpected_store_error_stops_the_hub_with_a_non_zero_exit_code_and_acknowledges_nothing()
    {
        var disk = new SimulatedDisk();
        await using var hub = await InProcessHub.StartAsync(replace: StoreOn(disk));
        var stopping = hub.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
        try
        {
            disk.Buggy = true;
            using var client = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "ws-bug");
            await Assert.ThrowsAnyAsync<Exception>(() => client.PublishAsync("grid/ws-bug/temperature", "{\"v\":1,\"t\":\"2026-11-22T10:00:00Z\"}"));
            await Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(Persistence.StoreWatchdog.FaultExitCode, Environment.ExitCode);
            Assert.Contains(hub.Logs.Errors, e => e.Contains("exits with code 70", StringComparison.Ordinal));
        }
        finally
        {
            Environment.ExitCode = 0; // this test's process is the test host
        }
    }

    [Fact]
    public async Task While_the_store_stalls_the_receive_path_waits_on_the_bounded_ingest_queue_and_catches_up_after()
    {
        var disk = new SimulatedDisk();
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:IngestQueueMessages"] = "3" }, replace: StoreOn(disk));
        var ingest = hub.Services.GetRequiredService<IngestService>();
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "ws-flood");

        // Every fsync waits: the first message's commit holds the writer, the queue fills behind it.
        disk.SyncGate.Reset();
        var publishes = Enumerable.Range(0, 12)
            .Select(i => client.PublishAsync("grid/ws-flood/temperature", $"{{\"v\":{i},\"t\":\"2026-11-22T10:00:{i:00}Z\"}}"))
            .ToList();
        await Eventually.WaitForAsync(() => Task.FromResult(ingest.QueueWaits), waits => waits >= 1, "the receive path waiting for room");

        // The receive path is blocked on the message after the three queued: nothing more is read or decoded.
        Assert.Equal(3, ingest.Queued);
        var health = (await hub.GetAsync<HealthResponse>("/api/health"))!;
        Assert.Equal(3, health.Ingest.Queued);
        Assert.Equal(3, health.Ingest.Messages);
        Assert.All(publishes, p => Assert.False(p.IsCompleted));

        disk.SyncGate.Set();
        var acks = await Task.WhenAll(publishes);
        Assert.All(acks, ack => Assert.True(ack.IsSuccess, ack.ReasonCode.ToString()));
        Assert.Equal(12, (await hub.Services.GetRequiredService<ITimeSeriesStore>().ReadRangeAsync(new SeriesKey("ws-flood", "temperature"), 0, long.MaxValue, 100)).Count);
        Assert.Equal(0, ingest.Queued);
    }
}
