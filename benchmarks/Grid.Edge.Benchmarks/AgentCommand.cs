using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Grid.Edge.Agent;
using Grid.Edge.Agent.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// Edge agent backlog: N readings taken while the hub was away, then delivered. The agent (durable outbox, PUBACK
/// before delete) against a bare MQTT publisher sending the same 500-reading QoS 1 batches straight from memory, to
/// the same hub, in the same run. The difference is what durability on the agent side costs.
/// </summary>
internal static class AgentCommand
{
    public static async Task<int> RunAsync(string hubDll, int readings, int runs, bool json = false)
    {
        Console.WriteLine($"Edge agent backlog: {readings:N0} readings, 500 per QoS 1 {(json ? "JSON batch" : "columns message")}, hub on core 0 (median of {runs})");
        var direct = new List<double>();
        var agent = new List<double>();
        var stored = new List<double>();
        var diskBytes = 0L;
        for (var run = 0; run < runs; run++)
        {
            await using var hub = await BrokerUnderTest.StartHubAsync(hubDll, core: 0);
            direct.Add(await DirectAsync(hub, $"direct-{run}", readings, json));
            var (rate, storeRate, bytes) = await AgentAsync(hub, $"agent-{run}", readings, json);
            agent.Add(rate);
            stored.Add(storeRate);
            diskBytes = bytes;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {run + 1}: direct {direct[^1]:N0}/s, agent {rate:N0}/s (outbox stored {storeRate:N0}/s)"));
        }

        var d = Median(direct);
        var a = Median(agent);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Delivered to the hub (stored there): agent {a:N0} readings/s, direct publisher {d:N0} readings/s, ratio {a / d:0.00}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Outbox: stores {Median(stored):N0} readings/s; {(double)diskBytes / readings:0.0} bytes on disk per reading waiting"));
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static List<(string Metric, double Value, long T)> Backlog(int count)
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (count * 100L) - 60_000;
        return Enumerable.Range(0, count).Select(i => ("counter", (double)i, start + (i * 100L))).ToList();
    }

    private static async Task<double> DirectAsync(BrokerUnderTest hub, string device, int count, bool asJson)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId(device).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        var watch = Stopwatch.StartNew();
        foreach (var chunk in Backlog(count).Chunk(500))
        {
            byte[] payload;
            if (asJson)
            {
                var json = new StringBuilder("{\"readings\":[");
                json.AppendJoin(',', chunk.Select(r => string.Create(CultureInfo.InvariantCulture, $"{{\"m\":\"{r.Metric}\",\"v\":{r.Value},\"t\":{r.T}}}")));
                json.Append("]}");
                payload = Encoding.UTF8.GetBytes(json.ToString());
            }
            else
            {
                payload = new Grid.Edge.Protocol.Payloads.ColumnBatchWriter().Add("counter", "", chunk.Select(r => r.T).ToArray(), chunk.Select(r => r.Value).ToArray()).ToArray();
            }

            var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"grid/{device}/{(asJson ? "batch" : "columns")}").WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            if (!result.IsSuccess)
                throw new InvalidOperationException("the hub refused a batch: " + result.ReasonCode);
        }

        await WaitStoredAsync(hub, device, count);
        return count / watch.Elapsed.TotalSeconds;
    }

    private static IHost Agent(string device, string dir, int port, bool json) =>
        AgentHost.Build(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Agent:DeviceId"] = device,
                ["Agent:HubHost"] = "127.0.0.1",
                ["Agent:HubMqttPort"] = port.ToString(CultureInfo.InvariantCulture),
                ["Agent:DataDir"] = dir,
                ["Agent:StatusIntervalSeconds"] = "3600",
                ["Agent:Outbox:BatchReadings"] = "500",
                ["Agent:Outbox:Columns"] = json ? "false" : "true",
                ["Agent:Outbox:BackfillReadingsPerSecond"] = "100000000",
            }).Build(),
            logging => logging.ClearProviders(),
            embedded: true);

    private static async Task<(double Delivered, double Stored, long DiskBytes)> AgentAsync(BrokerUnderTest hub, string device, int count, bool json)
    {
        var dir = Directory.CreateTempSubdirectory("grid-agent-bench-").FullName;
        try
        {
            // Taken while the hub is unreachable (the agent points at a closed port), then the agent restarts with the hub back.
            double storeRate;
            using (var away = Agent(device, dir, LoopbackPort.Free(), json))
            {
                await away.StartAsync();
                var inbox = away.Services.GetRequiredService<ReadingInbox>();
                var outbox = away.Services.GetRequiredService<SqliteOutbox>();
                var storeWatch = Stopwatch.StartNew();
                foreach (var (metric, value, t) in Backlog(count))
                    inbox.Add(new OutboxReading(metric, value, string.Empty, t));
                while (outbox.Count < count)
                    await Task.Delay(5);
                storeRate = count / storeWatch.Elapsed.TotalSeconds;
                await away.StopAsync();
            }

            var diskBytes = Directory.EnumerateFiles(dir).Sum(f => new FileInfo(f).Length);
            using var back = Agent(device, dir, hub.MqttPort, json);
            var watch = Stopwatch.StartNew();
            await back.StartAsync();
            await WaitStoredAsync(hub, device, count);
            var delivered = count / watch.Elapsed.TotalSeconds;
            await back.StopAsync();
            return (delivered, storeRate, diskBytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task WaitStoredAsync(BrokerUnderTest hub, string device, int count)
    {
        using var http = hub.NewHttpClient();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync($"/api/series/{device}/counter/summary?from=0&to=now");
            if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<Summary>())?.Count >= count)
                return;
            await Task.Delay(20);
        }

        throw new TimeoutException($"the hub did not store {count} readings of {device} within 5 minutes");
    }

    private sealed record Summary(long Count);
}
