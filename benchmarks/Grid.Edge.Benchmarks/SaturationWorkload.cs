using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
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
/// once they are on disk; QoS 0: counted by the hub's store).
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
        var factory = new MqttClientFactory();
        var t0 = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds();
        var payloads = Enumerable.Range(0, messages).Select(i => Payload(i, t0)).ToArray();

        using var publisher = factory.CreateMqttClient();
        await publisher.ConnectAsync(Options(broker, "bench-pub"));

        IMqttClient? subscriber = null;
        var delivered = 0L;
        var allDelivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long storedBefore = 0;
        using var http = broker.Http is null ? null : broker.NewHttpClient();
        if (http is null)
        {
            subscriber = factory.CreateMqttClient();
            subscriber.ApplicationMessageReceivedAsync += _ =>
            {
                if (Interlocked.Increment(ref delivered) == messages)
                    allDelivered.TrySetResult();
                return Task.CompletedTask;
            };
            await subscriber.ConnectAsync(Options(broker, "bench-sub"));
            await subscriber.SubscribeAsync(factory.CreateSubscribeOptionsBuilder().WithTopicFilter(Topic, qos).Build());
        }
        else
        {
            storedBefore = await StoredAsync(http);
        }

        var watch = Stopwatch.StartNew();
        if (qos == MqttQualityOfServiceLevel.AtMostOnce)
        {
            foreach (var payload in payloads)
                await publisher.PublishAsync(Message(payload, qos));
        }
        else
        {
            using var window = new SemaphoreSlim(QoS1Window);
            var failures = 0;
            var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var outstanding = messages;
            foreach (var payload in payloads)
            {
                await window.WaitAsync();
                _ = publisher.PublishAsync(Message(payload, qos)).ContinueWith(
                    t =>
                    {
                        if (!t.IsCompletedSuccessfully || !t.Result.IsSuccess)
                            Interlocked.Increment(ref failures);
                        window.Release();
                        if (Interlocked.Decrement(ref outstanding) == 0)
                            acked.TrySetResult();
                    },
                    TaskScheduler.Default);
            }

            await acked.Task;
            if (failures > 0)
                Console.Error.WriteLine($"  {failures} publishes were not acknowledged");
        }

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
            await Task.WhenAny(allDelivered.Task, IdleAsync(() => Interlocked.Read(ref delivered)));
        }

        var elapsed = watch.Elapsed;
        subscriber?.Dispose();
        return new RunResult(broker.Name, qos, messages, Interlocked.Read(ref delivered), elapsed);
    }

    /// <summary>Completes when the count stops moving for 2 s (messages were dropped).</summary>
    private static async Task IdleAsync(Func<long> count)
    {
        var last = -1L;
        while (true)
        {
            await Task.Delay(2000);
            var now = count();
            if (now == last)
                return;
            last = now;
        }
    }

    private static async Task<long> StoredAsync(HttpClient http)
    {
        using var health = await http.GetFromJsonAsync<JsonDocument>("/api/health");
        return health!.RootElement.GetProperty("ingest").GetProperty("readingsStored").GetInt64();
    }

    private static MqttApplicationMessage Message(byte[] payload, MqttQualityOfServiceLevel qos) =>
        new MqttApplicationMessageBuilder().WithTopic(Topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build();

    private static MqttClientOptions Options(BrokerUnderTest broker, string clientId) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", broker.MqttPort)
            .WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311)
            .WithTimeout(TimeSpan.FromSeconds(60))
            .Build();
}
