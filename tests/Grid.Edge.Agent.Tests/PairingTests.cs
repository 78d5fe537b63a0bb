using System.Net;
using System.Net.Http.Json;
using Grid.Edge.Agent.Commands;
using Grid.Edge.Agent.Configuration;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Grid.Edge.Agent.Tests;

/// <summary>
/// Pairing and topic permissions over real MQTT and HTTP. The hub runs with anonymous access off, so this machine's
/// own address is as untrusted as any other: every client must have credentials.
/// </summary>
public sealed class PairingTests : IAsyncLifetime
{
    private readonly TempDirectory _agentData = new();
    private InProcessHub _hub = null!;

    public async Task InitializeAsync() =>
        _hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:Anonymous"] = "None" });

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _agentData.Dispose();
    }

    private async Task<string> NewCodeAsync(string? device, double? minutes = null)
    {
        using var response = await _hub.Http.PostAsJsonAsync("/api/pairing/codes", new PairingCodeRequest(device, minutes));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<PairingCodeResponse>(Json.Options))!.Code;
    }

    private async Task<(int Exit, string Output, string Errors)> PairAsync(string code, string device)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await PairCommand.RunAsync(_hub.Http.BaseAddress!.ToString(), code, device, _agentData.Path, output, errors, CancellationToken.None);
        return (exit, output.ToString(), errors.ToString());
    }

    private async Task<IMqttClient> ConnectAsync(string clientId, string user, string password)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _hub.Mqtt.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCredentials(user, password)
            .Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    private static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, string payload) =>
        client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

    [Fact]
    public async Task A_paired_agent_delivers_with_its_own_credentials_and_the_code_works_only_once()
    {
        var code = await NewCodeAsync("van-7");
        var (exit, output, errors) = await PairAsync(code, "van-7");
        Assert.True(exit == 0, errors);
        Assert.Contains("Paired as 'van-7'", output, StringComparison.Ordinal);
        var saved = PairedCredentials.Load(_agentData.Path)!;
        Assert.Equal("van-7", saved.User);
        Assert.Equal(_hub.Mqtt.Port, saved.HubMqttPort);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_agentData.Path, PairedCredentials.FileName)));
        Assert.DoesNotContain(saved.Password, await File.ReadAllTextAsync(Path.Combine(_hub.DataDir, "mqtt-users")), StringComparison.Ordinal);

        (exit, _, errors) = await PairAsync(code, "van-7");
        Assert.Equal(5, exit);
        Assert.Contains("not valid", errors, StringComparison.Ordinal);

        // The agent finds the saved credentials and the hub they came from.
        var logs = new CapturingLoggerProvider();
        using var agent = AgentHost.Build(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Agent:DeviceId"] = "van-7",
                ["Agent:HubHost"] = "192.0.2.1", // not used: the paired hub wins
                ["Agent:DataDir"] = _agentData.Path,
            }).Build(),
            l =>
            {
                l.ClearProviders();
                l.AddProvider(logs);
            });
        await agent.StartAsync();
        agent.Services.GetRequiredService<ReadingInbox>().Add(new OutboxReading("coolant_temp", 88, "degC", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await _hub.Http.GetAsync("/api/series/van-7/coolant_temp/points?from=-1h&to=now");
            if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!.Points.Count == 1)
                break;
            await Task.Delay(100);
        }

        Assert.True(DateTime.UtcNow < deadline, "the paired agent's reading did not arrive: " + string.Join(" | ", logs.Entries.Select(e => e.Message)));
        await agent.StopAsync();
    }

    [Fact]
    public async Task A_paired_device_may_publish_and_subscribe_only_under_its_own_topics()
    {
        var (exit, _, errors) = await PairAsync(await NewCodeAsync(null), "weather-3");
        Assert.True(exit == 0, errors);
        var saved = PairedCredentials.Load(_agentData.Path)!;
        using var client = await ConnectAsync("weather-3", saved.User, saved.Password);

        Assert.True((await PublishAsync(client, "grid/weather-3/temperature", "21.5")).IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await PublishAsync(client, "grid/van/temperature", "99")).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await PublishAsync(client, "grid/van/status", "offline")).ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await PublishAsync(client, "other/topic", "x")).ReasonCode);
        using (var response = await _hub.Http.GetAsync("/api/series/van/temperature/points"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var rejections = await _hub.GetAsync<RejectionsResponse>("/api/ingest/rejections");
        Assert.Contains(rejections!.Counts, c => c.Reason == "not_authorized" && c.Count >= 2);

        var subscribed = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("grid/#")
            .WithTopicFilter("grid/van/config/#")
            .WithTopicFilter("grid/weather-3/config/#")
            .Build());
        Assert.Equal(
            [MqttClientSubscribeResultCode.NotAuthorized, MqttClientSubscribeResultCode.NotAuthorized, MqttClientSubscribeResultCode.GrantedQoS0],
            subscribed.Items.Select(i => i.ResultCode));
    }

    [Fact]
    public async Task Unknown_credentials_anonymous_clients_expired_codes_and_guessing_are_refused()
    {
        var refused = new MqttClientFactory().CreateMqttClient();
        var unknown = await refused.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _hub.Mqtt.Port).WithCredentials("van", "guess-guess").Build());
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, unknown.ResultCode);
        var anonymous = await new MqttClientFactory().CreateMqttClient().ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _hub.Mqtt.Port).Build());
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, anonymous.ResultCode);

        var expiring = await NewCodeAsync("van-9", minutes: 0.005);
        await Task.Delay(600);
        var (exit, _, errors) = await PairAsync(expiring, "van-9");
        Assert.Equal(5, exit);
        Assert.Contains("expired", errors, StringComparison.Ordinal);

        var bound = await NewCodeAsync("van-9");
        (exit, _, errors) = await PairAsync(bound, "van-10");
        Assert.Equal(5, exit);
        Assert.Contains("another device", errors, StringComparison.Ordinal);

        for (var i = 0; i < 8; i++)
            await PairAsync("AAAA-AAAA", "van-9");
        (exit, _, errors) = await PairAsync(bound, "van-9");
        Assert.Equal(5, exit);
        Assert.Contains("too many wrong pairing codes", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_device_is_disconnected_and_refused()
    {
        Assert.Equal(0, (await PairAsync(await NewCodeAsync("van-11"), "van-11")).Exit);
        var saved = PairedCredentials.Load(_agentData.Path)!;
        using var client = await ConnectAsync("van-11", saved.User, saved.Password);
        var disconnected = new TaskCompletionSource<MqttClientDisconnectReason>();
        client.DisconnectedAsync += e =>
        {
            disconnected.TrySetResult(e.Reason);
            return Task.CompletedTask;
        };

        using (var response = await _hub.Http.DeleteAsync("/api/pairing/devices/van-11"))
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        var again = await new MqttClientFactory().CreateMqttClient().ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _hub.Mqtt.Port).WithCredentials(saved.User, saved.Password).Build());
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, again.ResultCode);
        using (var response = await _hub.Http.DeleteAsync("/api/pairing/devices/van-11"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
