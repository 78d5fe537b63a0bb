using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>W1 MQTT saturation, the hub against Mosquitto in the same run (DESIGN.md section 7).</summary>
internal static class SaturationCommand
{
    public static async Task<int> RunAsync(string hubDll, int messages, int runs)
    {
        if (!File.Exists("/usr/sbin/mosquitto"))
        {
            Console.Error.WriteLine("error: /usr/sbin/mosquitto is missing: apt-get install mosquitto");
            return 1;
        }

        var mosquitto = ServerVersion.Mosquitto();
        Console.WriteLine($"W1 saturation: {messages:N0} messages of {SaturationWorkload.PayloadBytes} B per run, median of {runs}; brokers on core 0, raw-socket load on core 1; baseline {mosquitto}");
        var results = new List<RunResult>();
        foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
        {
            for (var run = 1; run <= runs; run++)
            {
                // Alternate which broker goes first so that warm caches favour neither.
                var order = run % 2 == 1 ? new[] { false, true } : [true, false];
                foreach (var hub in order)
                {
                    await using var broker = hub ? await BrokerUnderTest.StartHubAsync(hubDll, 0) : await BrokerUnderTest.StartMosquittoAsync(0);
                    var result = await SaturationWorkload.RunAsync(broker, qos, messages);
                    results.Add(result);
                    Console.WriteLine($"  QoS{(int)qos} run {run} {result.Broker,-30} {result.MessagesPerSecond,10:N0} msg/s  ({result.Delivered:N0}/{result.Sent:N0} in {result.Elapsed.TotalSeconds:0.00} s)");
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| workload | {mosquitto} (broker only) | Grid.Edge hub (stored durably) | hub / Mosquitto |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
        {
            double Median(bool hub) => results.Where(r => r.Qos == qos && r.Broker.StartsWith(hub ? "Grid" : "mosquitto", StringComparison.Ordinal))
                .Select(r => r.MessagesPerSecond).Order().ElementAt(runs / 2);
            var m = Median(false);
            var h = Median(true);
            Console.WriteLine($"| W1 QoS{(int)qos}, 64 B, 1 pub | {m:N0} msg/s | {h:N0} msg/s | {h / m:0.00}x |");
        }

        return 0;
    }
}
