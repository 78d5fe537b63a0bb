using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Grid.Edge.Protocol.Payloads;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// Derived weather on a backfill: a station's history (one reading of each of 7 metrics a minute) sent to the hub in
/// QoS 1 batches. Measures how fast the hub stores it (the baseline) and how long until it has derived everything from
/// it (dew point, sea-level pressure, tendency, forecast, rain totals, wind means); the ratio says whether derivation
/// keeps up with ingest.
/// </summary>
internal static class DerivedCommand
{
    private static readonly string[] Metrics = ["temperature", "humidity", "pressure", "wind_speed", "wind_gust", "wind_direction", "rain"];

    public static async Task<int> RunAsync(string hubDll, int days, int runs)
    {
        var minutes = days * 1440;
        Console.WriteLine($"Derived weather on a backfill: {days} days of a station, {minutes * Metrics.Length:N0} readings, 500 per QoS 1 batch (median of {runs})");
        var ingest = new List<double>();
        var derive = new List<double>();
        var derivedCounts = new List<long>();
        // The station's altitude, so sea-level pressure and the forecast are derived too.
        var config = Path.Combine(Path.GetTempPath(), $"grid-edge-derived-{Environment.ProcessId}.json");
        await File.WriteAllTextAsync(config, """{ "Hub": { "Stations": { "roof": { "AltitudeM": 540 } } } }""");
        for (var run = 0; run < runs; run++)
        {
            await using var hub = await BrokerUnderTest.StartHubAsync(hubDll, core: 0, "--config", config);
            using var http = hub.NewHttpClient();
            using var client = new MqttClientFactory().CreateMqttClient();
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId("roof").WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());

            var watch = Stopwatch.StartNew();
            foreach (var chunk in History(minutes).Chunk(500))
            {
                using var json = new JsonBatchWriter(expectedReadings: chunk.Length);
                foreach (var r in chunk)
                    json.TryAdd(r.Metric, r.Value, r.T);
                var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("grid/roof/batch").WithPayload(json.ToArray()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                if (!result.IsSuccess)
                    throw new InvalidOperationException("the hub refused a batch: " + result.ReasonCode);
            }

            var stored = watch.Elapsed.TotalSeconds; // every batch was acknowledged: stored durably
            long derived;
            while (true)
            {
                using var health = JsonDocument.Parse(await http.GetStringAsync("/api/health"));
                var d = health.RootElement.GetProperty("derived");
                if (d.GetProperty("pendingInputs").GetInt32() == 0 && d.GetProperty("readings").GetInt64() > 0)
                {
                    derived = d.GetProperty("readings").GetInt64();
                    break;
                }

                await Task.Delay(20);
            }

            var all = watch.Elapsed.TotalSeconds;
            ingest.Add(minutes * Metrics.Length / stored);
            derive.Add(minutes * Metrics.Length / all);
            derivedCounts.Add(derived);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  run {run + 1}: stored in {stored:0.00} s, everything derived after {all:0.00} s ({derived:N0} derived readings)"));
        }

        File.Delete(config);
        var i = Median(ingest);
        var e = Median(derive);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Ingest only: {i:N0} readings/s; ingest and derive: {e:N0} readings/s; ratio {e / i:0.00}x ({Median(derivedCounts.Select(c => (double)c).ToList()):N0} derived readings)"));
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ToList()[values.Count / 2];

    private static IEnumerable<(string Metric, double Value, long T)> History(int minutes)
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (minutes * 60_000L) - 60_000;
        for (var m = 0; m < minutes; m++)
        {
            var t = start + (m * 60_000L);
            var day = Math.Sin(m / 1440.0 * 2 * Math.PI);
            yield return ("temperature", Math.Round(12 + (6 * day), 1), t);
            yield return ("humidity", Math.Round(70 - (15 * day), 0), t);
            yield return ("pressure", Math.Round(950 + (4 * Math.Sin(m / 4000.0)), 1), t);
            yield return ("wind_speed", Math.Round(3 + (2 * Math.Abs(Math.Sin(m / 37.0))), 1), t);
            yield return ("wind_gust", Math.Round(5 + (3 * Math.Abs(Math.Sin(m / 37.0))), 1), t);
            yield return ("wind_direction", (200 + (m * 7 % 90)) % 360, t);
            yield return ("rain", m % 97 < 20 ? 0.2794 : 0, t);
        }
    }
}
