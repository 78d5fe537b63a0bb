using Grid.Edge.Hub.Testing;
using System.Net;
using System.Net.Http.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Formatter;

namespace Grid.Edge.Hub.Tests;

/// <summary>Back-off of refused CONNECTs, the retained quota and pairing that never overwrites another user.</summary>
public sealed class MqttConnectGuardTests : IAsyncLifetime
{
    private InProcessHub _hub = null!;

    public async Task InitializeAsync()
    {
        _hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:MaxRetainedMessages"] = "3",
            ["Hub:MaxRetainedBytes"] = "64",
            ["Hub:Users:cfg"] = PasswordHash.Create("configured-password", iterations: 1000),
        });
        UsersFile.Write(Path.Combine(_hub.DataDir, "mqtt-users"), new Dictionary<string, string>
        {
            ["dev"] = PasswordHash.Create("dev-password", iterations: 1000),
            ["svc"] = UsersFile.Entry(PasswordHash.Create("svc-password", iterations: 1000), service: true),
        });
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    [Fact]
    public void Refusals_back_off_per_address_doubling_to_a_cap_and_a_success_resets()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var throttle = new ConnectThrottle(time);
        var lan = IPAddress.Parse("192.168.1.20");
        for (var i = 0; i < ConnectThrottle.FreeFailures; i++)
            throttle.Failed(lan);
        Assert.False(throttle.IsThrottled(lan, out _));
        var waits = new List<double>();
        for (var i = 0; i < 9; i++)
        {
            throttle.Failed(lan);
            Assert.True(throttle.IsThrottled(lan, out var wait));
            waits.Add(wait.TotalSeconds);
        }

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], waits);
        Assert.False(throttle.IsThrottled(IPAddress.Parse("192.168.1.21"), out _)); // another address is not held back
        Assert.True(throttle.IsThrottled(IPAddress.Parse("2001:db8::1"), out _) is false);
        throttle.Succeeded(lan);
        Assert.False(throttle.IsThrottled(lan, out _));

        // This machine waits at most a second; an IPv6 /64 counts as one address.
        for (var i = 0; i < 20; i++)
        {
            throttle.Failed(IPAddress.Loopback);
            throttle.Failed(IPAddress.Parse("2001:db8::" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Assert.True(throttle.IsThrottled(IPAddress.Loopback, out var local) && local <= ConnectThrottle.LoopbackMaxDelay);
        Assert.True(throttle.IsThrottled(IPAddress.Parse("2001:db8::ffff"), out var v6) && v6 == ConnectThrottle.MaxDelay);
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.False(throttle.IsThrottled(IPAddress.Parse("2001:db8::ffff"), out _));
    }

    [Fact]
    public async Task An_address_that_keeps_failing_is_refused_even_with_the_right_password_while_others_connect()
    {
        var guesser = IPAddress.Parse("127.0.0.9");
        for (var i = 0; i <= ConnectThrottle.FreeFailures; i++)
        {
            var wrong = await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(_hub.Mqtt, "dev", user: "dev", password: "guess-" + i, from: guesser));
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, wrong.Code);
        }

        var busy = await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(_hub.Mqtt, "dev", user: "dev", password: "dev-password", from: guesser));
        Assert.Equal(MqttClientConnectResultCode.ServerBusy, busy.Code);
        using (await TestMqtt.ConnectAsync(_hub.Mqtt, "dev", user: "dev", password: "dev-password"))
        {
        }

        using (await TestMqtt.ConnectAsync(_hub.Mqtt, from: guesser))
        {
        }

        // This machine's addresses wait at most a second.
        await Eventually.WaitForAsync(
            async () =>
            {
                try
                {
                    using var client = await TestMqtt.ConnectAsync(_hub.Mqtt, "dev:again", user: "dev", password: "dev-password", from: guesser);
                    return true;
                }
                catch (MqttConnectionRefusedException)
                {
                    return false;
                }
            },
            connected => connected,
            "the guessing address to be let in again",
            TimeSpan.FromSeconds(5));
        var health = (await _hub.GetAsync<HealthResponse>("/api/health"))!;
        Assert.True(health.Mqtt.RefusedConnects >= ConnectThrottle.FreeFailures + 1);
        Assert.True(health.Mqtt.ThrottledConnects >= 1);
    }

    [Fact]
    public async Task Retained_messages_beyond_the_count_or_size_cap_are_refused_and_not_delivered()
    {
        await using var watcher = await Watcher.StartAsync(_hub.Mqtt);
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        Assert.True((await client.PublishAsync("plug/1", "on", retain: true)).IsSuccess);
        Assert.True((await client.PublishAsync("plug/2", "on", retain: true)).IsSuccess);
        Assert.True((await client.PublishAsync("plug/3", "on", retain: true)).IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, (await client.PublishAsync("plug/4", "on", retain: true)).ReasonCode);
        Assert.True((await client.PublishAsync("plug/3", "off", retain: true)).IsSuccess); // replacing is allowed
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, (await client.PublishAsync("plug/1", new string('x', 65), retain: true)).ReasonCode);
        Assert.True((await client.PublishAsync("plug/2", string.Empty, retain: true)).IsSuccess); // clearing frees a place
        Assert.True((await client.PublishAsync("plug/5", "on", retain: true)).IsSuccess);

        await watcher.SentinelAsync(_hub.Mqtt);
        Assert.False(watcher.Has("plug/4", "on"));
        Assert.False(watcher.Has("plug/1", new string('x', 65)));
        await using var late = await Watcher.StartAsync(_hub.Mqtt);
        await late.SentinelAsync(_hub.Mqtt);
        Assert.Equal(["plug/1 on", "plug/3 off", "plug/5 on"], late.Received.Where(m => m.Retain).Select(m => m.Topic + " " + m.Payload).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Pairing_never_takes_over_another_user_unless_the_code_was_made_for_that_device()
    {
        async Task<string> CodeAsync(string? device)
        {
            using var response = await _hub.Http.PostAsJsonAsync("/api/pairing/codes", new PairingCodeRequest(device, null));
            return (await response.Content.ReadFromJsonAsync<PairingCodeResponse>(Json.Options))!.Code;
        }

        async Task<HttpResponseMessage> RedeemAsync(string code, string? device) => await _hub.Http.PostAsJsonAsync("/api/pairing/redeem", new RedeemRequest(code, device));

        var open = await CodeAsync(null);
        foreach (var taken in new[] { "dev", "svc", "cfg" })
        {
            using var refused = await RedeemAsync(open, taken);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("already taken", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var fresh = await RedeemAsync(open, "fresh")) // the code was not used up by the refusals
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        foreach (var service in new[] { "svc", "cfg" })
        {
            using var refused = await RedeemAsync(await CodeAsync(service), service);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // A code made for an existing device re-pairs it: a new password, the old one stops working.
        using var repaired = await RedeemAsync(await CodeAsync("dev"), "dev");
        Assert.Equal(HttpStatusCode.OK, repaired.StatusCode);
        var credentials = (await repaired.Content.ReadFromJsonAsync<RedeemResponse>(Json.Options))!;
        using (await TestMqtt.ConnectAsync(_hub.Mqtt, "dev", MqttProtocolVersion.V500, "dev", credentials.Password))
        {
        }

        await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(_hub.Mqtt, "dev", MqttProtocolVersion.V500, "dev", "dev-password", from: IPAddress.Parse("127.0.0.10")));
        Assert.True(UsersFile.Split(UsersFile.Read(Path.Combine(_hub.DataDir, "mqtt-users"))["svc"]).Service);
    }

    [Theory]
    [InlineData("oversize remaining length", new byte[] { 0x10, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x04 }, false)]
    [InlineData("five length bytes", new byte[] { 0x10, 0x80, 0x80, 0x80, 0x80, 0x01 }, false)]
    [InlineData("CONNECT cut short, then half-closed", new byte[] { 0x10, 0x20, 0x00, 0x04, 0x4D, 0x51 }, true)]
    public async Task Broken_framing_ends_the_connection_at_once(string what, byte[] bytes, bool halfClose)
    {
        var before = (await _hub.GetAsync<HealthResponse>("/api/health"))!.Mqtt.ClientProtocolErrors;
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(_hub.Mqtt);
        await socket.SendAsync(bytes);
        if (halfClose)
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        // Without the guard MQTTnet waits for 268 MB that never come, or re-reads the partial packet until its
        // 100 s communication timeout; the hub closes such connections at once.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            Assert.Equal(0, await socket.ReceiveAsync(new byte[16], timeout.Token));
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Reset: closed all the same.
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), what);
        await Eventually.WaitForAsync(async () => (await _hub.GetAsync<HealthResponse>("/api/health"))!.Mqtt.ClientProtocolErrors, errors => errors > before, $"{what} to count as a protocol error");
    }
}
