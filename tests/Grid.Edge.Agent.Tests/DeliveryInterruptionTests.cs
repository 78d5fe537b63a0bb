using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Tests.Support;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet.Server;

namespace Grid.Edge.Agent.Tests;

/// <summary>
/// Deliveries cut in the middle: an acknowledgement lost after the hub stored a batch, and the agent killed with
/// SIGKILL while sending. Every message is counted where it arrives, at the broker, not only in the store (which
/// keeps an identical point once): a reading may arrive twice only as part of the one batch whose fate the agent
/// could not know, and every reading is stored exactly once.
/// </summary>
public sealed class DeliveryInterruptionTests
{
    private const string User = "van-1-password";

    /// <summary>Every reading time of the van's "counter" in every batch the broker took, repeats included.</summary>
    private static ConcurrentQueue<long> CountArrivals(InProcessHub hub)
    {
        var arrivals = new ConcurrentQueue<long>();
        hub.Services.GetRequiredService<MqttServer>().InterceptingPublishAsync += e =>
        {
            if (e.ApplicationMessage.Topic is "grid/van-1/columns" or "grid/van-1/batch")
            {
                foreach (var t in Times(e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)))
                    arrivals.Enqueue(t);
            }

            return Task.CompletedTask;
        };
        return arrivals;
    }

    private static List<long> Times(string topic, byte[] payload)
    {
        var message = OutboxDeliveryTests.Decoder.Decode(topic, new System.Buffers.ReadOnlySequence<byte>(payload), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return message.Readings.Where(r => r.Series.Metric == "counter").Select(r => r.TimestampMs)
            .Concat(message.Columns.Where(c => c.Series.Metric == "counter").SelectMany(c => c.Times))
            .ToList();
    }

    /// <summary>The test's readings still waiting in the outbox (the agent's own reports come and go beside them).</summary>
    private static int CounterWaiting(SqliteOutbox outbox) => outbox.Peek(50_000).Count(r => r.Reading.Metric == "counter");

    private static async Task<List<double[]>> StoredAsync(InProcessHub hub, long from)
    {
        using var response = await hub.Http.GetAsync($"/api/series/van-1/counter/points?from={from}&to=now&limit=1000000");
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!.Points.ToList() : [];
    }

    /// <summary>The stored series is exactly readings 0..count-1, each once, at its own time.</summary>
    private static void AssertStoredExactly(List<double[]> points, long start, int count)
    {
        Assert.Equal(Enumerable.Range(0, count).Select(i => start + (i * 100L)), points.Select(p => (long)p[0]));
        Assert.Equal(Enumerable.Range(0, count).Select(i => (double)i), points.Select(p => p[1]));
    }

    /// <summary>
    /// Every reading arrived at least once and none three times; those that arrived twice are exactly
    /// <paramref name="repeatable"/> (the one batch in doubt) or, when that is not known, at most one batch's worth
    /// of consecutive readings.
    /// </summary>
    private static void AssertArrivals(IReadOnlyCollection<long> arrivals, long start, int count, IReadOnlyCollection<long>? repeatable, int batch)
    {
        var times = arrivals.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Enumerable.Range(0, count).Select(i => start + (i * 100L)), times.Keys.Order());
        Assert.DoesNotContain(times, kv => kv.Value > 2);
        var twice = times.Where(kv => kv.Value == 2).Select(kv => kv.Key).Order().ToList();
        if (repeatable is not null)
        {
            Assert.Equal(repeatable.Order(), twice);
            return;
        }

        Assert.InRange(twice.Count, 0, batch);
        if (twice.Count > 0)
            Assert.Equal(Enumerable.Range(0, twice.Count).Select(i => twice[0] + (i * 100L)), twice);
    }

    [Fact]
    public async Task A_batch_stored_whose_acknowledgement_is_lost_is_sent_again_and_stored_once()
    {
        await using var hub = await InProcessHub.StartAsync();
        hub.Services.GetRequiredService<Grid.Edge.Hub.Security.MqttUserDirectory>().AddEphemeral("van-1", User);
        var arrivals = CountArrivals(hub);
        await using var relay = new MqttRelay(hub.Mqtt);
        relay.DropAck("/columns", nth: 3);
        using var data = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        using var agent = OutboxDeliveryTests.Agent(data.Path, relay.Port, logs);
        await agent.StartAsync();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        OutboxDeliveryTests.Take(agent, start, 0, 5000);

        // The third batch reached the hub, which stored it and acknowledged it; the ack was dropped and the link cut,
        // and the relay keeps the agent out until the store is checked.
        var dropped = await relay.AckDropped.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var inDoubt = Times(dropped.Topic, dropped.Payload).ToList();
        Assert.Equal(500, inDoubt.Count);
        var stored = await StoredAsync(hub, start);
        Assert.Subset(stored.Select(p => (long)p[0]).ToHashSet(), inDoubt.ToHashSet());

        relay.Target = hub.Mqtt;
        var outbox = agent.Services.GetRequiredService<SqliteOutbox>();
        await Eventually.WaitForAsync(() => StoredAsync(hub, start), p => p.Count >= 5000, "5000 readings stored");
        await Eventually.WaitForAsync(() => Task.FromResult(CounterWaiting(outbox)), n => n == 0, "the agent's outbox to empty of counter readings");

        AssertStoredExactly(await StoredAsync(hub, start), start, 5000);
        AssertArrivals(arrivals.ToList(), start, 5000, inDoubt, 500);
        Assert.Contains(logs.Entries, e => e.Message.Contains("unreachable", StringComparison.Ordinal));
        Assert.Equal(0, outbox.Dropped);
        await agent.StopAsync();
    }

    [Fact]
    public async Task An_agent_killed_with_SIGKILL_while_sending_delivers_the_rest_after_a_restart_each_reading_stored_once()
    {
        await using var hub = await InProcessHub.StartAsync();
        hub.Services.GetRequiredService<Grid.Edge.Hub.Security.MqttUserDirectory>().AddEphemeral("van-1", User);
        var arrivals = CountArrivals(hub);
        using var data = new TempDirectory();
        const int Count = 20_000;
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        using (var outbox = new SqliteOutbox(Path.Combine(data.Path, "outbox.db"), new OutboxOptions(), TimeProvider.System))
            outbox.Add(Enumerable.Range(0, Count).Select(i => new OutboxReading("counter", i, string.Empty, start + (i * 100L))).ToList());

        // The real program, at 4000 readings a second: five seconds of sending, killed in the middle.
        var settings = new Dictionary<string, string>
        {
            ["Agent:DeviceId"] = "van-1",
            ["Agent:HubHost"] = "127.0.0.1",
            ["Agent:HubMqttPort"] = hub.Mqtt.Port.ToString(CultureInfo.InvariantCulture),
            ["Agent:DataDir"] = data.Path,
            ["Agent:User"] = "van-1",
            ["Agent:Password"] = User,
            ["Agent:Outbox:BatchReadings"] = "500",
            ["Agent:Outbox:BackfillReadingsPerSecond"] = "4000",
        };
        using (var child = AgentProgram.Start(settings))
        {
            var output = child.StandardOutput.ReadToEndAsync();
            var errors = child.StandardError.ReadToEndAsync();
            try
            {
                await Eventually.WaitForAsync(() => Task.FromResult(arrivals.Count), n => n >= 5000 || child.HasExited, "the agent to deliver 5000 readings", TimeSpan.FromSeconds(60));
            }
            finally
            {
                child.Kill(); // SIGKILL
                await child.WaitForExitAsync();
            }

            Assert.True(child.ExitCode == 137, $"exit {child.ExitCode}: {await output}\n{await errors}");
        }

        var atKill = arrivals.Count;
        Assert.InRange(atKill, 5000, Count - 1);

        var logs = new CapturingLoggerProvider();
        using var restarted = OutboxDeliveryTests.Agent(data.Path, hub.Mqtt.Port, logs);
        await restarted.StartAsync();
        var remaining = restarted.Services.GetRequiredService<SqliteOutbox>();
        await Eventually.WaitForAsync(() => StoredAsync(hub, start), p => p.Count >= Count, $"{Count} readings stored", TimeSpan.FromSeconds(60));
        await Eventually.WaitForAsync(() => Task.FromResult(CounterWaiting(remaining)), n => n == 0, "the outbox to empty of counter readings");

        AssertStoredExactly(await StoredAsync(hub, start), start, Count);
        AssertArrivals(arrivals.ToList(), start, Count, repeatable: null, batch: 500);
        Assert.Equal(0, remaining.Dropped);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        await restarted.StopAsync();
    }
}
