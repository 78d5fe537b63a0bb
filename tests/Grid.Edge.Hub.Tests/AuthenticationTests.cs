using Grid.Edge.Hub.Testing;
using System.Net;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Mqtt;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet;
using MQTTnet.Adapter;

namespace Grid.Edge.Hub.Tests;

/// <summary>Credentials over real MQTT: the path every client off this machine takes.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private InProcessHub _hub = null!;
    private string _usersFile = null!;

    public async Task InitializeAsync()
    {
        var hash = PasswordHash.Create("from-config-pass", iterations: 1000);
        _hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:Anonymous"] = "none",
            ["Hub:Users:configured-user"] = hash,
        });
        _usersFile = Path.Combine(_hub.DataDir, "mqtt-users");
        UsersFile.Write(_usersFile, new Dictionary<string, string> { ["ws1"] = PasswordHash.Create("correct horse", iterations: 1000) });
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private async Task<MqttClientConnectResultCode> ConnectResultAsync(string? user, string? password)
    {
        try
        {
            using var client = await TestMqtt.ConnectAsync(_hub.Mqtt, user: user, password: password);
            return MqttClientConnectResultCode.Success;
        }
        catch (MqttConnectionRefusedException ex)
        {
            return ex.Code;
        }
        catch (MqttConnectingFailedException ex) when (ex.InnerException is MqttConnectionRefusedException refused)
        {
            return refused.Code;
        }
    }

    [Fact]
    public async Task Anonymous_clients_are_refused_when_anonymous_access_is_off()
    {
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, await ConnectResultAsync(null, null));
        Assert.Contains(_hub.Logs.Entries, e => e.Message.Contains("credentials required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_or_unknown_user_is_refused()
    {
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectResultAsync("ws1", "wrong"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectResultAsync("nobody", "correct horse"));
    }

    [Fact]
    public async Task Users_from_the_file_and_from_configuration_connect_and_publish()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt, user: "ws1", password: "correct horse");
        Assert.True((await client.PublishAsync("grid/ws1/temperature", "20")).IsSuccess);
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectResultAsync("configured-user", "from-config-pass"));
    }

    [Fact]
    public async Task Removing_a_user_from_the_file_takes_effect_without_a_restart()
    {
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectResultAsync("ws1", "correct horse"));
        UsersFile.Write(_usersFile, new Dictionary<string, string> { ["other"] = PasswordHash.Create("another secret", iterations: 1000) });
        File.SetLastWriteTimeUtc(_usersFile, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectResultAsync("ws1", "correct horse"));
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectResultAsync("other", "another secret"));
    }

    [Fact]
    public void The_users_file_holds_hashes_only_and_is_private_to_its_owner()
    {
        var text = File.ReadAllText(_usersFile);
        Assert.DoesNotContain("correct horse", text, StringComparison.Ordinal);
        Assert.Contains("ws1:$pbkdf2-sha256$1000$", text, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_usersFile));
    }

    [Theory]
    [InlineData(AnonymousAccess.Loopback, "127.0.0.1", true)]
    [InlineData(AnonymousAccess.Loopback, "127.8.9.10", true)]
    [InlineData(AnonymousAccess.Loopback, "::1", true)]
    [InlineData(AnonymousAccess.Loopback, "::ffff:127.0.0.1", true)]
    [InlineData(AnonymousAccess.Loopback, "192.168.1.20", false)]
    [InlineData(AnonymousAccess.Loopback, "::ffff:192.168.1.20", false)]
    [InlineData(AnonymousAccess.Loopback, "fe80::1", false)]
    [InlineData(AnonymousAccess.None, "127.0.0.1", false)]
    [InlineData(AnonymousAccess.Any, "192.168.1.20", true)]
    public void Anonymous_access_depends_on_where_the_client_is(AnonymousAccess policy, string address, bool allowed)
    {
        var remote = MqttConnectionPolicy.RemoteAddress(new IPEndPoint(IPAddress.Parse(address), 50000));
        Assert.Equal(allowed, MqttConnectionPolicy.IsAnonymousAllowed(policy, remote));
    }

    [Fact]
    public void Password_hashes_verify_only_the_right_password()
    {
        var hash = PasswordHash.Create("s3cret-pass", iterations: 1000);
        Assert.True(PasswordHash.Verify("s3cret-pass", hash));
        Assert.False(PasswordHash.Verify("s3cret-pasS", hash));
        Assert.NotEqual(hash, PasswordHash.Create("s3cret-pass", iterations: 1000)); // salted
        Assert.False(PasswordHash.Verify("x", "$pbkdf2-sha256$1000$bad$bad"));
        Assert.False(PasswordHash.Verify("x", "plain-text"));
    }
}
