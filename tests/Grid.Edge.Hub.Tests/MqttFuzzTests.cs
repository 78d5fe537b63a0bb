using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Mqtt;
using Grid.Edge.Hub.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Broken MQTT against the running hub over TCP (seeded, so a failure can be repeated), while a well-behaved device
/// publishes QoS 1 readings throughout: the device keeps getting its acks, every acknowledged reading is stored, the
/// hub logs no error and still serves. Memory before and after is written to the test output.
/// </summary>
[Collection(Alone.Name)]
public sealed class MqttFuzzTests(ITestOutputHelper output)
{
    private const long Packets = 100_000;
    private const int Seed = 1303;

    [Fact]
    public async Task The_hub_survives_fuzzed_packets_while_a_device_keeps_storing_its_readings()
    {
        await using var hub = await InProcessHub.StartAsync();
        UsersFile.Write(Path.Combine(hub.DataDir, "mqtt-users"), new Dictionary<string, string> { ["good"] = PasswordHash.Create("good-device-password", iterations: 1000) });
        var before = await MemoryAsync(hub);

        using var device = await TestMqtt.ConnectAsync(hub.Mqtt, "good", MqttProtocolVersion.V500, "good", "good-device-password");
        var acked = 0;
        var longestWait = TimeSpan.Zero;
        var firstMs = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            var sinceAck = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                var t = firstMs + acked;
                var result = await device.PublishAsync("grid/good/temperature", string.Create(CultureInfo.InvariantCulture, $$"""{"v":{{acked % 40}}.5,"t":{{t}}}"""));
                Assert.True(result.IsSuccess, result.ReasonCode.ToString());
                acked++;
                longestWait = sinceAck.Elapsed > longestWait ? sinceAck.Elapsed : longestWait;
                sinceAck.Restart();
            }
        });

        // The fuzzer comes from its own loopback address, as an attacker elsewhere on the LAN would.
        var fuzzer = new MqttFuzzer(hub.Mqtt, Seed, IPAddress.Parse("127.0.0.7"));
        var watch = Stopwatch.StartNew();
        using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
            await fuzzer.RunAsync(Packets, parallel: 8, limit.Token);
        var fuzzTime = watch.Elapsed;
        var ackedDuringFuzz = acked;
        await stop.CancelAsync();
        await publishing;

        var points = await hub.GetAsync<PointsResponse>($"/api/series/good/temperature/points?from={firstMs}&to={firstMs + acked}&limit=1000000");
        var health = (await hub.GetAsync<HealthResponse>("/api/health"))!;
        var after = await MemoryAsync(hub);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fuzz (seed {Seed}): {fuzzer.Packets:N0} packets, {fuzzer.Bytes:N0} bytes over {fuzzer.Connections:N0} connections in {fuzzTime.TotalSeconds:0.0} s ({fuzzer.Packets / fuzzTime.TotalSeconds:N0} packets/s); " +
            $"hub: {health.Mqtt.ClientProtocolErrors:N0} connections dropped for protocol errors, {health.Mqtt.RefusedConnects:N0} CONNECTs refused"));
        output.WriteLine($"well-behaved device: {ackedDuringFuzz:N0} QoS 1 readings acknowledged during the fuzzing, longest wait for an ack {longestWait.TotalMilliseconds:0} ms, {points!.Points.Count:N0} of {acked:N0} stored");
        output.WriteLine($"memory before: {before}; after: {after}");

        Assert.True(fuzzer.Packets >= Packets, $"only {fuzzer.Packets} packets were sent");
        Assert.True(ackedDuringFuzz >= 10, $"the device got only {ackedDuringFuzz} acks while the fuzzer ran");
        Assert.Equal(acked, points.Points.Count);
        Assert.True(health.Mqtt.ClientProtocolErrors > 1000, "the fuzzer's broken packets were not noticed as protocol errors");
        var errors = hub.Logs.Errors.ToList();
        Assert.True(errors.Count == 0, "the hub logged errors:\n" + string.Join("\n", errors.Distinct().Take(20)));
        Assert.True(device.IsConnected);
        using var newcomer = await TestMqtt.ConnectAsync(hub.Mqtt);
        Assert.True((await newcomer.PublishAsync("grid/newcomer/temperature", "20")).IsSuccess);
    }

    private static async Task<string> MemoryAsync(InProcessHub hub)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var memory = (await hub.GetAsync<HealthResponse>("/api/health"))!.Memory!;
        return string.Create(CultureInfo.InvariantCulture, $"GC heap {memory.ManagedHeapMb:0.0} MiB, committed {memory.ManagedCommittedMb:0.0} MiB, working set {memory.ResidentMb:0.0} MiB");
    }
}

/// <summary>Tests that load the machine run with no other test beside them (their own and others' timings stay honest).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "alone";
}
