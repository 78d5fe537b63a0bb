using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Grid.Edge.Testing.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// MQTT fuzzing at scale: the tests' seeded fuzzer (bad first packets, truncated, oversize and malformed lengths,
/// invalid UTF-8, mutated sessions) throws N packets at a hub in its own process, while a well-behaved device keeps
/// publishing QoS 1 readings. Prints packets/s, connections served, the device's acks and the hub's memory growth.
/// </summary>
internal static class FuzzCommand
{
    public static async Task<int> RunAsync(string hubDll, long packets, int seed)
    {
        Console.WriteLine($"MQTT fuzzing: {packets:N0} packets (seed {seed}) against the hub, a device publishing QoS 1 throughout");
        await using var hub = await BrokerUnderTest.StartHubAsync(hubDll, core: 0);
        using var http = hub.NewHttpClient();

        using var device = new MqttClientFactory().CreateMqttClient();
        await device.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId("good").WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build());
        var acked = 0L;
        var longestWait = TimeSpan.Zero;
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            var sinceAck = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                var message = new MqttApplicationMessageBuilder().WithTopic("grid/good/temperature").WithPayload((acked % 40).ToString(CultureInfo.InvariantCulture)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
                var result = await device.PublishAsync(message);
                if (!result.IsSuccess)
                    throw new InvalidOperationException("the hub refused the device's reading: " + result.ReasonCode);
                acked++;
                longestWait = sinceAck.Elapsed > longestWait ? sinceAck.Elapsed : longestWait;
                sinceAck.Restart();
            }
        });

        // Once the hub has warmed up: the runtime reports its heap from the last collection, so wait for the first.
        var before = await MemoryAsync(http);
        for (var wait = Stopwatch.StartNew(); (before.Heap == 0 || Interlocked.Read(ref acked) < 50) && wait.Elapsed < TimeSpan.FromSeconds(30); before = await MemoryAsync(http))
            await Task.Delay(100);

        // From its own loopback address, as an attacker elsewhere on the LAN would be.
        var fuzzer = new MqttFuzzer(new IPEndPoint(IPAddress.Loopback, hub.MqttPort), seed, IPAddress.Parse("127.0.0.7"));
        var watch = Stopwatch.StartNew();
        await fuzzer.RunAsync(packets, parallel: 8);
        var seconds = watch.Elapsed.TotalSeconds;
        var ackedDuring = acked;
        await stop.CancelAsync();
        await publishing;

        using var health = JsonDocument.Parse(await http.GetStringAsync("/api/health"));
        var mqtt = health.RootElement.GetProperty("mqtt");
        var after = await MemoryAsync(http);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  fuzzer: {fuzzer.Packets:N0} packets, {fuzzer.Bytes / 1e6:0.0} MB over {fuzzer.Connections:N0} connections in {seconds:0.0} s: {fuzzer.Packets / seconds:N0} packets/s, {fuzzer.Connections / seconds:N0} connections/s ({fuzzer.RefusedConnects:N0} refused at TCP)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  hub: {mqtt.GetProperty("clientProtocolErrors").GetInt64():N0} connections dropped for protocol errors, {mqtt.GetProperty("refusedConnects").GetInt64():N0} CONNECTs refused, {mqtt.GetProperty("clients").GetInt32()} clients connected after"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  device: {ackedDuring:N0} QoS 1 readings acknowledged during the fuzzing ({ackedDuring / seconds:0} /s), longest wait for an ack {longestWait.TotalMilliseconds:0} ms, still connected: {device.IsConnected}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  hub memory: GC heap {before.Heap:0.0} -> {after.Heap:0.0} MiB ({after.Heap - before.Heap:+0.0;-0.0} MiB), working set {before.Resident:0.0} -> {after.Resident:0.0} MiB ({after.Resident - before.Resident:+0.0;-0.0} MiB)"));
        return device.IsConnected ? 0 : 1;
    }

    private static async Task<(double Heap, double Resident)> MemoryAsync(HttpClient http)
    {
        using var health = JsonDocument.Parse(await http.GetStringAsync("/api/health"));
        var memory = health.RootElement.GetProperty("memory");
        return (memory.GetProperty("managedHeapMb").GetDouble(), memory.GetProperty("residentMb").GetDouble());
    }
}
