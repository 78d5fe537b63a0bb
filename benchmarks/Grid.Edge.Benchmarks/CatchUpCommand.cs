using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// DESIGN.md W8, catch-up after time apart: two hubs in a grid, one killed while the other takes N points, then
/// started again; the time until it holds exactly what the other holds (equal digests), the points a second, the
/// sync bytes per point against the bytes per point of the store, and the returning hub's peak memory.
/// </summary>
internal static class CatchUpCommand
{
    public static async Task<int> RunAsync(string hubDll, int series, int points)
    {
        var devices = Math.Clamp(series / 100, 1, 100);
        var metrics = Math.Max(1, series / devices);
        series = devices * metrics;
        var perSeries = Math.Max(1, points / series);
        points = perSeries * series;
        Console.WriteLine($"W8 catch-up: {points:N0} points ({series} series x {perSeries:N0}, 1 s apart) written while the second hub is down; hub A on core 0, hub B on core 1");

        await using var a = await BrokerUnderTest.StartHubAsync(hubDll, core: 0);
        var b = await BrokerUnderTest.StartHubAsync(hubDll, core: 1);
        try
        {
            using var httpA = a.NewHttpClient();
            await ReplicationCommand.HubCliAsync(hubDll, "grid", "create", "--name", "w8", "--data-dir", a.DataDirectory);
            var invitation = await ReplicationCommand.HubCliAsync(hubDll, "grid", "invite", "--data-dir", a.DataDirectory);
            var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
            await ReplicationCommand.HubCliAsync(hubDll, "grid", "join", code, "--data-dir", b.DataDirectory);
            string bId;
            using (var httpB = b.NewHttpClient())
                bId = await ReplicationCommand.HubIdAsync(httpB);
            await ReplicationCommand.WaitAsync(async () => (await ReplicationCommand.PeerAsync(httpA, bId))?.GetProperty("state").GetString() == "up", TimeSpan.FromSeconds(30), "the link A-B");
            await b.KillAsync();

            var start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000 * 1000) - (perSeries * 1000L);
            var write = Stopwatch.StartNew();
            using (var client = new MqttClientFactory().CreateMqttClient())
            {
                await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", a.MqttPort).WithClientId("w8-load").WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
                for (var step = 0; step < perSeries; step += 10)
                {
                    for (var device = 0; device < devices; device++)
                    {
                        var payload = new StringBuilder("{\"readings\":[");
                        var first = true;
                        for (var s = step; s < Math.Min(step + 10, perSeries); s++)
                        {
                            for (var metric = 0; metric < metrics; metric++)
                            {
                                payload.Append(first ? "" : ",");
                                first = false;
                                var value = Math.Round(20 + (5 * Math.Sin((s / 600.0) + metric)), 1).ToString(CultureInfo.InvariantCulture);
                                payload.Append(CultureInfo.InvariantCulture, $"{{\"m\":\"m{metric:D3}\",\"v\":{value},\"t\":{start + (s * 1000L)},\"unit\":\"W\"}}");
                            }
                        }

                        payload.Append("]}");
                        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"grid/dev{device:D3}/batch").WithPayload(payload.ToString()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                    }
                }
            }

            var window = $"/api/grid/digest?from={start}&to={start + (perSeries * 1000L)}";
            await ReplicationCommand.WaitAsync(async () => (await httpA.GetFromJsonAsync<JsonElement>(window)).GetProperty("points").GetInt64() == points, TimeSpan.FromMinutes(10), "A to store every point");
            Console.WriteLine($"  A took {points:N0} points in {write.Elapsed.TotalSeconds:F1} s ({points / write.Elapsed.TotalSeconds:N0}/s)");
            var bytesBefore = (await ReplicationCommand.PeerAsync(httpA, bId))!.Value.GetProperty("bytesOut").GetInt64();

            var caughtUp = Stopwatch.StartNew();
            b = await b.RestartAsync(hubDll, core: 1);
            using var httpBack = b.NewHttpClient();
            var target = (await httpA.GetFromJsonAsync<JsonElement>(window)).GetProperty("digest").GetString();
            await ReplicationCommand.WaitAsync(async () => (await httpBack.GetFromJsonAsync<JsonElement>(window)).GetProperty("digest").GetString() == target, TimeSpan.FromMinutes(30), "B to catch up");
            var seconds = caughtUp.Elapsed.TotalSeconds;
            var wire = (await ReplicationCommand.PeerAsync(httpA, bId))!.Value.GetProperty("bytesOut").GetInt64() - bytesBefore;
            var stored = (await httpA.GetFromJsonAsync<JsonElement>("/api/storage")).GetProperty("bytesOnDiskPerPoint").GetDouble();
            Console.WriteLine($"  B held all of it {seconds:F1} s after it was started again ({points / seconds:N0} points/s, start included; target >= 1,000,000/s)");
            Console.WriteLine($"  wire A -> B: {wire:N0} B, {wire / (double)points:F2} B per point; A's store {stored:F2} B per point ({wire / (double)points / stored:F2}x)");
            Console.WriteLine($"  B's peak memory: {b.PeakMemory() / 1048576.0:F0} MiB (target <= 150 MB)");
        }
        finally
        {
            await b.DisposeAsync();
        }

        return 0;
    }
}
