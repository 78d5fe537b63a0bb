using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>One W1 run's figures.</summary>
internal sealed record RunResult(string Broker, MqttQualityOfServiceLevel Qos, int Sent, long Delivered, TimeSpan Elapsed)
{
    public double MessagesPerSecond => Delivered / Elapsed.TotalSeconds;
}

/// <summary>
/// W1 (DESIGN.md section 7): one publisher, 64-byte messages, as fast as the broker takes them. For Mosquitto a
/// subscriber must receive them; for the hub they must be stored (QoS 1: acknowledged, which the hub does only
/// once they are on disk; QoS 0: counted by the hub's store). Both brokers get the same raw-socket load
/// (<see cref="RawMqttClient"/>), so the ratio measures the brokers rather than the client.
/// </summary>
internal static class SaturationWorkload
{
    public const int PayloadBytes = 64;
    private const string Topic = "grid/bench/level";
    private const int QoS1Window = 100; // as Mosquitto's max_inflight_messages

    public static byte[] Payload(int i, long t0)
    {
        var json = string.Create(CultureInfo.InvariantCulture, $"{{\"v\":{i % 100_000 / 10.0:0.0},\"t\":{t0 + i}");
        return Encoding.ASCII.GetBytes(json.PadRight(PayloadBytes - 1) + "}");
    }

    public static async Task<RunResult> RunAsync(BrokerUnderTest broker, MqttQualityOfServiceLevel qos, int messages)
    {
        var t0 = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();
        var (buffer, ends) = RawMqttClient.BuildPublishes(Topic, Enumerable.Range(0, messages).Select(i => Payload(i, t0)).ToArray(), (int)qos);

        using var publisher = await RawMqttClient.ConnectAsync(broker.MqttPort, "bench-pub");
        RawMqttClient? subscriber = null;
        using var stopCounting = new CancellationTokenSource();
        Task? counting = null;
        long storedBefore = 0;
        using var http = broker.Http is null ? null : broker.NewHttpClient();
        if (http is null)
        {
            subscriber = await RawMqttClient.ConnectAsync(broker.MqttPort, "bench-sub");
            await subscriber.SubscribeAsync(Topic, (int)qos);
            counting = subscriber.CountAsync(stopCounting.Token);
        }
        else
        {
            storedBefore = await StoredAsync(http);
        }

        var watch = Stopwatch.StartNew();
        if (qos == MqttQualityOfServiceLevel.AtMostOnce)
            await publisher.SendAllAsync(buffer);
        else
            await publisher.SendWindowedAsync(buffer, ends, QoS1Window);

        long delivered;
        var lastAt = TimeSpan.Zero;
        if (http is not null)
        {
            // The hub: done when the store holds every reading.
            while (true)
            {
                delivered = await StoredAsync(http) - storedBefore;
                if (delivered >= messages || watch.Elapsed > TimeSpan.FromMinutes(5))
                    break;
                await Task.Delay(5);
            }
        }
        else
        {
            // Mosquitto: done when the subscriber has every message, or the count stops moving (messages dropped).
            var last = -1L;
            while ((delivered = subscriber!.Received) < messages)
            {
                if (delivered != last)
                {
                    last = delivered;
                    lastAt = watch.Elapsed;
                }
                else if (watch.Elapsed - lastAt > TimeSpan.FromSeconds(2))
                {
                    break;
                }

                await Task.Delay(1);
            }
        }

        var elapsed = delivered < messages && http is null ? lastAt : watch.Elapsed;
        await stopCounting.CancelAsync();
        if (counting is not null)
            await counting;
        subscriber?.Dispose();
        return new RunResult(broker.Name, qos, messages, delivered, elapsed);
    }

    private static async Task<long> StoredAsync(HttpClient http)
    {
        using var health = await http.GetFromJsonAsync<JsonDocument>("/api/health");
        return health!.RootElement.GetProperty("ingest").GetProperty("readingsStored").GetInt64();
    }
}
