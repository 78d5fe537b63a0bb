using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Net.Http.Json;
using System.Net.Sockets;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet.Formatter;

namespace Grid.Edge.Hub.Tests;

/// <summary>The hub as a real process: restarts, SIGTERM, SIGKILL, its command line.</summary>
[Collection(HubProcessGroup.Name)]
public sealed class HubProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<PointsResponse> AllPointsAsync(HttpClient http, string series)
    {
        using var response = await http.GetAsync($"/api/series/{series}/points?from=0&to=now&limit=1000000");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return new PointsResponse(series, string.Empty, 0, 0, null, null, false, []);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!;
    }

    [Fact]
    public async Task A_graceful_stop_flushes_and_a_restart_finds_every_reading()
    {
        await using (var hub = await HubProcess.StartAsync(_dir.Path))
        {
            using var client = await TestMqtt.ConnectAsync(hub.Mqtt, version: MqttProtocolVersion.V311);
            for (var i = 0; i < 20; i++)
                await client.PublishAsync("grid/van/speed", $"{{\"v\":{i},\"t\":{1795330000000 + i * 1000}}}", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtMostOnce);
            await client.PublishAsync("grid/van/rpm", """{"v":850,"t":1795330000000}""");
            Assert.Equal(0, await hub.TerminateAsync());
            Assert.DoesNotContain("fail:", hub.Output, StringComparison.OrdinalIgnoreCase);
        }

        foreach (var log in new[] { "store/chunks.wal", "store/chunks.db-wal" })
        {
            var file = new FileInfo(Path.Combine(_dir.Path, log));
            Assert.True(!file.Exists || file.Length == 0, $"{log} is emptied by the checkpoint at a clean stop");
        }

        await using var restarted = await HubProcess.StartAsync(_dir.Path);
        Assert.Equal(20, (await AllPointsAsync(restarted.Http, "van/speed")).Points.Count);
        Assert.Equal([[1795330000000, 850.0]], (await AllPointsAsync(restarted.Http, "van/rpm")).Points);
    }

    [Fact]
    public async Task Retained_messages_and_device_status_survive_a_restart()
    {
        await using (var hub = await HubProcess.StartAsync(_dir.Path))
        {
            using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
            await client.PublishAsync("grid/shed/status", "online", retain: true);
            await client.PublishAsync("tasmota/plug1/state", "ON", retain: true);
            Assert.Equal(0, await hub.TerminateAsync());
        }

        await using var restarted = await HubProcess.StartAsync(_dir.Path);
        var devices = (await restarted.Http.GetFromJsonAsync<List<DeviceResponse>>("/api/devices", Json.Options))!;
        Assert.Equal("online", Assert.Single(devices, d => d.Device == "shed").Status);

        using var subscriber = await TestMqtt.ConnectAsync(restarted.Mqtt);
        var received = new ConcurrentDictionary<string, string>();
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            received[e.ApplicationMessage.Topic] = Encoding.UTF8.GetString(e.ApplicationMessage.Payload);
            return Task.CompletedTask;
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await subscriber.SubscribeAsync(new MQTTnet.MqttClientFactory().CreateSubscribeOptionsBuilder().WithTopicFilter("#").Build(), cts.Token);
        await Eventually.WaitForAsync(() => Task.FromResult(received.Count), n => n >= 2, "both retained messages");
        Assert.Equal("online", received["grid/shed/status"]);
        Assert.Equal("ON", received["tasmota/plug1/state"]);
    }

    [Fact]
    public async Task Every_acknowledged_qos1_reading_survives_twenty_sigkills_at_random_moments()
    {
        const long t0 = 1_795_330_000_000;
        const int kills = 20;
        var random = new Random(20261122);
        var acked = new ConcurrentBag<int>();
        var next = 0;
        for (var cycle = 0; cycle <= kills; cycle++)
        {
            // Checkpoints every second: kills also land while buckets are written out, sealed and let go.
            var hub = await HubProcess.StartAsync(_dir.Path, "--checkpoint-seconds", "1");
            try
            {
                // Every reading acknowledged before any earlier kill is there, and the store opened clean.
                var stored = (await AllPointsAsync(hub.Http, "crash/level")).Points.ToDictionary(p => (long)p[0], p => p[1]);
                var lost = acked.Where(n => !stored.TryGetValue(t0 + n, out var v) || v != n).Order().ToList();
                Assert.True(lost.Count == 0, $"after kill {cycle}: {lost.Count} of {acked.Count} acknowledged readings lost, e.g. {string.Join(", ", lost.Take(10))}");
                Assert.DoesNotContain("fail:", hub.Output, StringComparison.Ordinal);
                if (cycle == kills)
                    break;

                var killAfter = random.Next(20, 400);
                var ackedThisCycle = 0;
                using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
                using var inFlight = new SemaphoreSlim(random.Next(1, 64));
                var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var publishes = new List<Task>();
                while (!killed.Task.IsCompleted)
                {
                    await inFlight.WaitAsync();
                    var n = next++;
                    publishes.Add(Task.Run(async () =>
                    {
                        try
                        {
                            if ((await client.PublishAsync("grid/crash/level", $"{{\"v\":{n},\"t\":{t0 + n}}}")).IsSuccess)
                            {
                                acked.Add(n);
                                if (Interlocked.Increment(ref ackedThisCycle) == killAfter && killed.TrySetResult())
                                    await hub.KillAsync();
                            }
                        }
                        catch (Exception ex) when (ex is not OutOfMemoryException)
                        {
                            // The hub is gone: this one was never acknowledged.
                        }
                        finally
                        {
                            inFlight.Release();
                        }
                    }));
                }

                await Task.WhenAll(publishes).WaitAsync(TimeSpan.FromSeconds(60));
            }
            finally
            {
                await hub.DisposeAsync();
            }
        }

        Assert.True(acked.Count >= kills * 20);
    }

    [Fact]
    public async Task The_hub_keeps_one_identity_shows_it_everywhere_and_will_not_start_with_a_key_others_can_read()
    {
        if (OperatingSystem.IsWindows())
            return; // file modes are the protection checked here
        string id;
        await using (var hub = await HubProcess.StartAsync(_dir.Path))
        {
            id = hub.HubId;
            Assert.Matches("^[a-z2-7]{26}$", id);
            var grid = (await hub.Http.GetFromJsonAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid", Json.Options))!;
            Assert.Equal(id, grid.Hub.Id);
            Assert.Equal(id, grid.Hub.Origin); // the store stamps this hub's writes with its id
            Assert.Equal(32, Convert.FromBase64String(grid.Hub.PublicKey).Length);
            Assert.Equal(0, await hub.TerminateAsync());
        }

        var key = Path.Combine(_dir.Path, "hub.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        var (exit, printed) = await HubProcess.RunToEndAsync(null, "identity", "--data-dir", _dir.Path);
        Assert.Equal(0, exit);
        Assert.Contains("hub id:     " + id, printed, StringComparison.Ordinal);
        await using (var again = await HubProcess.StartAsync(_dir.Path))
        {
            Assert.Equal(id, again.HubId);
            Assert.Equal(0, await again.TerminateAsync());
        }

        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var (refused, output) = await HubProcess.RunToEndAsync(null, "--mqtt-port", "0", "--http-port", "0", "--grid-port", "0", "--discovery-port", "0", "--bind", "127.0.0.1", "--data-dir", _dir.Path);
        Assert.Equal(2, refused);
        Assert.Contains($"run 'chmod 600 {key}'", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_demo_executable_runs_the_hub_with_both_devices_reporting_and_the_guest_view_on()
    {
        await using var demo = await HubProcess.StartDemoAsync(_dir.Path, "--days", "1");
        using var guest = new HttpClient { BaseAddress = demo.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var devices = await Eventually.WaitForAsync(
            async () => (await guest.GetFromJsonAsync<List<DeviceResponse>>("/api/devices", Json.Options))!,
            list => list.Any(d => d.Device == "demo-weather") && list.Any(d => d.Device == "demo-van"),
            "both demo devices to report");
        Assert.Equal(2, devices.Count(d => d.Device.StartsWith("demo-", StringComparison.Ordinal)));
        // Derived with the station's altitude the demo sets.
        await Eventually.WaitForAsync(async () => (await AllPointsAsync(guest, "demo-weather/sea_level_pressure")).Points.Count, n => n > 0, "sea-level pressure derived");
        Assert.Equal(0, await demo.TerminateAsync());

        var (exit, output) = await HubProcess.RunToEndAsync(null, "--help");
        Assert.DoesNotContain("--demo", output, StringComparison.Ordinal); // the hub itself carries no simulators
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task Help_lists_every_option()
    {
        var (exit, output) = await HubProcess.RunToEndAsync(null, "--help");
        Assert.Equal(0, exit);
        foreach (var setting in HubSetting.All)
            Assert.Contains(setting.Option, output, StringComparison.Ordinal);
        Assert.Contains("users", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--mqtt-port", "seventy", "wrong type")]
    [InlineData("--http-port", "70000", "is not a TCP port")]
    [InlineData("--bind", "localhost-ish", "is not an IP address")]
    [InlineData("--anonymous", "sometimes", "wrong type")]
    public async Task A_bad_setting_stops_the_hub_with_a_message_that_says_what_to_fix(string option, string value, string message)
    {
        var (exit, output) = await HubProcess.RunToEndAsync(null, option, value, "--data-dir", _dir.Path);
        Assert.Equal(2, exit);
        Assert.Contains("error: ", output, StringComparison.Ordinal);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_is_reported_with_what_to_do()
    {
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var (exit, output) = await HubProcess.RunToEndAsync(null, "--mqtt-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--http-port", "0", "--grid-port", "0", "--discovery-port", "0", "--bind", "127.0.0.1", "--data-dir", _dir.Path);
        Assert.Equal(1, exit);
        Assert.Contains("--mqtt-port", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unusable_data_directory_stops_the_hub_with_a_sentence_and_exit_code_2()
    {
        var file = Path.Combine(_dir.Path, "not-a-folder");
        await File.WriteAllTextAsync(file, "x");
        foreach (var (dataDir, message) in new[] { (file, "is a file, not a folder"), (Path.Combine(file, "data"), "cannot write in its data directory") })
        {
            var (exit, output) = await HubProcess.RunToEndAsync(null, "--mqtt-port", "0", "--http-port", "0", "--grid-port", "0", "--discovery-port", "0", "--bind", "127.0.0.1", "--data-dir", dataDir);
            Assert.Equal(2, exit);
            Assert.Contains("error: ", output, StringComparison.Ordinal);
            Assert.Contains(message, output, StringComparison.Ordinal);
            Assert.Contains("--data-dir", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // no stack trace
        }
    }

    [Fact]
    public async Task A_background_service_that_fails_stops_the_hub_with_a_nonzero_exit_code()
    {
        var hook = new Dictionary<string, string> { [StartupHook.Environment] = typeof(StartupHook).Assembly.Location };
        await using var hub = await HubProcess.StartAsync(_dir.Path, hook);
        var exit = await hub.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(3, exit);
        Assert.Contains("error: the hub stopped because its InjectedFault failed (InvalidOperationException: a fault injected by the test)", hub.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_added_on_the_command_line_can_connect_when_anonymous_access_is_off()
    {
        var (exit, output) = await HubProcess.RunToEndAsync("a-long-device-password", "users", "add", "ws7", "--password-stdin", "--data-dir", _dir.Path);
        Assert.Equal(0, exit);
        Assert.Contains("User 'ws7' saved", output, StringComparison.Ordinal);
        (exit, output) = await HubProcess.RunToEndAsync(null, "users", "list", "--data-dir", _dir.Path);
        Assert.Equal(0, exit);
        Assert.Contains("ws7", output, StringComparison.Ordinal);

        await using var hub = await HubProcess.StartAsync(_dir.Path, "--anonymous", "none");
        await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(hub.Mqtt));
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt, user: "ws7", password: "a-long-device-password");
        Assert.True((await client.PublishAsync("grid/ws7/temperature", "18.5")).IsSuccess);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HubProcessGroup
{
    public const string Name = "hub processes";
}
