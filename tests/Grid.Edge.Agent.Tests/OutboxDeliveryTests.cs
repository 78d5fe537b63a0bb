using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.AspNetCore;
using MQTTnet.Server;
using Microsoft.AspNetCore.Hosting;

namespace Grid.Edge.Agent.Tests;

/// <summary>The outbox against a real hub over MQTT on 127.0.0.1: outages, restarts, exactly-once, oldest first.</summary>
public sealed class OutboxDeliveryTests
{
    internal static readonly Grid.Edge.Protocol.Payloads.ReadingDecoder Decoder = new(new Grid.Edge.Protocol.Payloads.ReadingDecoderOptions { MaxPayloadBytes = 1 << 20 });

    internal static IHost Agent(string dataDir, int hubPort, CapturingLoggerProvider logs) =>
        AgentHost.Build(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Agent:DeviceId"] = "van-1",
                ["Agent:HubHost"] = "127.0.0.1",
                ["Agent:HubMqttPort"] = hubPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Agent:DataDir"] = dataDir,
                ["Agent:User"] = "van-1",
                ["Agent:Password"] = "van-1-password",
                ["Agent:StatusIntervalSeconds"] = "2",
                ["Agent:Outbox:BatchReadings"] = "500",
                ["Agent:Outbox:MaxBatchBytes"] = "60000",
                ["Agent:Outbox:BackfillReadingsPerSecond"] = "20000",
            }).Build(),
            logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(logs);
            });

    internal static void Take(IHost agent, long fromMs, int from, int count)
    {
        var inbox = agent.Services.GetRequiredService<ReadingInbox>();
        for (var i = from; i < from + count; i++)
            inbox.Add(new OutboxReading("counter", i, string.Empty, fromMs + (i * 100L)));
    }

    [Fact]
    public async Task Ten_thousand_readings_taken_while_the_hub_is_down_arrive_exactly_once_oldest_first_after_an_agent_restart()
    {
        using var hubData = new TempDirectory();
        using var agentData = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        // The agent knows the hub by the relay's address, which stays the same while the hub is down and back.
        await using var relay = new Support.MqttRelay(target: null);
        var port = relay.Port;

        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        using (var agent = Agent(agentData.Path, port, logs))
        {
            await agent.StartAsync();
            Take(agent, start, 0, 6000);
            await agent.StopAsync();
        }

        using var restarted = Agent(agentData.Path, port, logs);
        await restarted.StartAsync();
        Take(restarted, start, 6000, 4000);

        // The hub comes back requiring credentials it does not know yet for the van, so the watcher below is
        // subscribed before the agent can deliver anything; the van's refused connections are retried.
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:Anonymous"] = "None" }, hubData.Path);
        relay.Target = hub.Mqtt;
        var users = hub.Services.GetRequiredService<Grid.Edge.Hub.Security.MqttUserDirectory>();
        users.AddEphemeral("watcher", "watcher-password", service: true);
        var arrivals = new ConcurrentQueue<long>();
        var columnsMessages = 0;
        using var watcher = new MqttClientFactory().CreateMqttClient();
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            // The hub's own decoder reads what the agent sent, in either format.
            var message = Decoder.Decode(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (e.ApplicationMessage.Topic.EndsWith("/columns", StringComparison.Ordinal))
                Interlocked.Increment(ref columnsMessages);
            foreach (var t in message.Readings.Where(r => r.Series.Metric == "counter").Select(r => r.TimestampMs)
                .Concat(message.Columns.Where(c => c.Series.Metric == "counter").SelectMany(c => c.Times)))
                arrivals.Enqueue(t);
            return Task.CompletedTask;
        };
        await watcher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.Mqtt.Port).WithClientId("watcher").WithCredentials("watcher", "watcher-password").Build());
        await watcher.SubscribeAsync("grid/van-1/batch");
        await watcher.SubscribeAsync("grid/van-1/columns");
        users.AddEphemeral("van-1", "van-1-password");

        var deadline = DateTime.UtcNow.AddSeconds(60);
        PointsResponse? points = null;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await hub.Http.GetAsync($"/api/series/van-1/counter/points?from={start}&to=now&limit=1000000");
            if (response.IsSuccessStatusCode)
            {
                points = await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options);
                if (points?.Points.Count >= 10_000)
                    break;
            }

            await Task.Delay(200);
        }

        Assert.NotNull(points);
        Assert.True(points.Points.Count == 10_000, $"{points.Points.Count} points; outbox {restarted.Services.GetRequiredService<SqliteOutbox>().Count}; agent log:\n{string.Join("\n", logs.Entries.Select(e => e.Message))}\nhub log:\n{string.Join("\n", hub.Logs.Entries.Select(e => e.Message).TakeLast(30))}");
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => start + (i * 100L)), points.Points.Select(p => (long)p[0]));
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (double)i), points.Points.Select(p => p[1]));

        // Oldest first, each once: the batches the broker passed on carry the times in order, with no repeats.
        var deadlineArrivals = DateTime.UtcNow.AddSeconds(10);
        while (arrivals.Count < 10_000 && DateTime.UtcNow < deadlineArrivals)
            await Task.Delay(50);
        var order = arrivals.ToList();
        Assert.Equal(10_000, order.Count);
        Assert.Equal(order.Order(), order);
        Assert.True(columnsMessages >= 20, $"the backlog went as columns messages ({columnsMessages})");

        // The agent's own report reached the hub's device list.
        var devicesDeadline = DateTime.UtcNow.AddSeconds(20);
        DeviceResponse? van = null;
        while (DateTime.UtcNow < devicesDeadline)
        {
            var devices = await hub.Http.GetFromJsonAsync<List<DeviceResponse>>("/api/devices", Json.Options);
            van = devices?.FirstOrDefault(d => d.Device == "van-1");
            if (van?.Agent is { Link: "connected", OutboxReadings: 0 })
                break;
            await Task.Delay(200);
        }

        Assert.Equal("connected", van?.Agent?.Link);
        Assert.Equal("online", van?.Status);
        Assert.Empty(hub.Logs.Errors);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        await restarted.StopAsync();
    }

    [Fact]
    public async Task Batches_larger_than_the_hub_accepts_are_split_and_nothing_is_lost()
    {
        // The hub takes at most 4 KiB per message; the agent is configured for 60 KB batches and must find out.
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:MaxPayloadBytes"] = "4096" });
        hub.Services.GetRequiredService<Grid.Edge.Hub.Security.MqttUserDirectory>().AddEphemeral("van-1", "van-1-password");
        using var data = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        using var agent = Agent(data.Path, hub.Mqtt.Port, logs);
        await agent.StartAsync();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        Take(agent, start, 0, 3000);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var count = 0;
        while (DateTime.UtcNow < deadline && count < 3000)
        {
            using var response = await hub.Http.GetAsync($"/api/series/van-1/counter/points?from={start}&to=now&limit=1000000");
            if (response.IsSuccessStatusCode)
                count = (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!.Points.Count;
            await Task.Delay(100);
        }

        Assert.Equal(3000, count);
        Assert.Equal(0, agent.Services.GetRequiredService<SqliteOutbox>().Dropped);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("dropped", StringComparison.Ordinal));
        await agent.StopAsync();
    }

    [Fact]
    public async Task A_hub_that_does_not_know_columns_messages_gets_json_batches_and_nothing_is_lost()
    {
        // An older hub: it takes "columns" for a metric name and refuses the binary payload, as a plain MQTT server
        // answering PUBACK 0x99 here; JSON batches it takes, and they are counted.
        // A plain MQTTnet broker on Kestrel, on a port the OS chose and the test reads back.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHostedMqttServer(mqtt => mqtt.WithoutDefaultEndpoint()).AddMqttConnectionHandler().AddConnections();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseMqtt()));
        await using var app = builder.Build();
        var server = app.Services.GetRequiredService<MqttServer>();
        var stored = new ConcurrentDictionary<long, double>();
        var refused = 0;
        server.InterceptingPublishAsync += e =>
        {
            if (e.ApplicationMessage.Topic == "grid/van-1/columns")
            {
                Interlocked.Increment(ref refused);
                e.ProcessPublish = false;
                e.Response.ReasonCode = MQTTnet.Protocol.MqttPubAckReasonCode.PayloadFormatInvalid;
            }
            else if (e.ApplicationMessage.Topic == "grid/van-1/batch")
            {
                foreach (var reading in Decoder.Decode(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Readings.Where(r => r.Series.Metric == "counter"))
                    stored[reading.TimestampMs] = reading.Value;
            }

            return Task.CompletedTask;
        };
        await app.StartAsync();
        var port = new Uri(app.Urls.Single()).Port;
        using var data = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        using var agent = Agent(data.Path, port, logs);
        await agent.StartAsync();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        Take(agent, start, 0, 2000);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && stored.Count < 2000)
            await Task.Delay(50);

        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (start + (i * 100L), (double)i)), stored.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(0, agent.Services.GetRequiredService<SqliteOutbox>().Dropped);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("dropped", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Message.Contains("sending JSON batches", StringComparison.Ordinal));

        // Halving found the single reading, JSON took it, and the agent stopped trying columns on this connection.
        Assert.InRange(refused, 1, 12);
        await agent.StopAsync();
        await app.StopAsync();
    }
}
