using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Hosting;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

public sealed class HubConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, string?> Cli(params (string Key, string Value)[] values) =>
        values.ToDictionary(v => "Hub:" + v.Key, v => (string?)v.Value);

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = HubConfiguration.Bind(HubConfiguration.Load(Cli(), null, new Dictionary<string, string?>()));
        Assert.Equal(1883, options.MqttPort);
        Assert.Equal(8080, options.HttpPort);
        Assert.Equal("0.0.0.0", options.Bind);
        Assert.Equal(AnonymousAccess.Loopback, options.Anonymous);
        Assert.Equal(Path.Combine(options.DataDir, "mqtt-users"), options.ResolvedUsersFile);
    }

    [Fact]
    public void Command_line_beats_environment_beats_config_file()
    {
        var file = Path.Combine(_dir.Path, "hub.json");
        File.WriteAllText(file, """{"Hub":{"MqttPort":1000,"HttpPort":1001,"Bind":"127.0.0.1","DataDir":"/tmp/a"}}""");
        var environment = new Dictionary<string, string?> { ["GRID_HTTP_PORT"] = "2001", ["GRID_DATA_DIR"] = "/tmp/b" };
        var options = HubConfiguration.Bind(HubConfiguration.Load(Cli(("DataDir", "/tmp/c")), file, environment));
        Assert.Equal(1000, options.MqttPort);
        Assert.Equal(2001, options.HttpPort);
        Assert.Equal("127.0.0.1", options.Bind);
        Assert.Equal("/tmp/c", options.DataDir);
    }

    [Fact]
    public void The_config_file_can_come_from_the_environment()
    {
        var file = Path.Combine(_dir.Path, "hub.json");
        File.WriteAllText(file, """{"Hub":{"Anonymous":"none"}}""");
        var options = HubConfiguration.Bind(HubConfiguration.Load(Cli(), null, new Dictionary<string, string?> { ["GRID_CONFIG"] = file }));
        Assert.Equal(AnonymousAccess.None, options.Anonymous);
    }

    [Fact]
    public void Problems_are_reported_together_in_words()
    {
        var error = Assert.Throws<HubConfigurationException>(() => HubConfiguration.Bind(HubConfiguration.Load(
            Cli(("MqttPort", "8080"), ("HttpPort", "8080"), ("Bind", "here"), ("MaxBatchReadings", "0")), null, new Dictionary<string, string?>())));
        Assert.Contains("cannot share port 8080", error.Message, StringComparison.Ordinal);
        Assert.Contains("'here' is not an IP address", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxBatchReadings 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Peers_are_host_and_port_with_an_optional_hub_id_and_discovery_is_on_or_off()
    {
        var options = HubConfiguration.Bind(HubConfiguration.Load(
            Cli(("Peers", "10.8.0.2:7420, home.example:7421,[fd00::1]:7420"), ("Discovery", "off")), null, new Dictionary<string, string?>()));
        Assert.Equal(["10.8.0.2:7420", "home.example:7421", "[fd00::1]:7420"], options.PeerList);
        Assert.False(options.DiscoveryOn);
        Assert.True(HubConfiguration.Bind(HubConfiguration.Load(Cli(), null, new Dictionary<string, string?>())).DiscoveryOn);

        var error = Assert.Throws<HubConfigurationException>(() => HubConfiguration.Bind(HubConfiguration.Load(
            Cli(("Peers", "10.8.0.2,nobody@10.8.0.3:7420,10.8.0.4:99999"), ("Discovery", "maybe")), null, new Dictionary<string, string?>())));
        Assert.Contains("'10.8.0.2' is not host:port", error.Message, StringComparison.Ordinal);
        Assert.Contains("'nobody' is not a hub id", error.Message, StringComparison.Ordinal);
        Assert.Contains("'10.8.0.4:99999' is not host:port", error.Message, StringComparison.Ordinal);
        Assert.Contains("Discovery 'maybe' is not on or off", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_grid_max_skew_is_whole_seconds_up_to_a_day_and_five_minutes_by_default()
    {
        static HubOptions Bind(Dictionary<string, string?> cli, Dictionary<string, string?> environment) =>
            HubConfiguration.Bind(HubConfiguration.Load(cli, null, environment));
        Assert.Equal(300, Bind(Cli(), []).GridMaxSkewSeconds);
        Assert.Equal(600, Bind(Cli(), new() { ["GRID_GRID_MAX_SKEW"] = "600" }).GridMaxSkewSeconds);
        Assert.Equal(900, Bind(Cli(("GridMaxSkewSeconds", "900")), new() { ["GRID_GRID_MAX_SKEW"] = "600" }).GridMaxSkewSeconds);
        foreach (var wrong in new[] { "0", "86401" })
        {
            var error = Assert.Throws<HubConfigurationException>(() => Bind(Cli(("GridMaxSkewSeconds", wrong)), []));
            Assert.Contains($"GridMaxSkewSeconds {wrong} (--grid-max-skew) must be between 1 and 86400 seconds", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_clock_offset_hook_shifts_the_wall_clock_and_nothing_else()
    {
        Assert.Same(TimeProvider.System, ShiftedClock.Compose(null));
        Assert.Same(TimeProvider.System, ShiftedClock.Compose(" 0 "));
        var ahead = ShiftedClock.Compose("600");
        var before = DateTimeOffset.UtcNow;
        Assert.InRange(ahead.GetUtcNow() - before, TimeSpan.FromSeconds(599), TimeSpan.FromSeconds(601));
        Assert.InRange(before - ShiftedClock.Compose("-30").GetUtcNow(), TimeSpan.FromSeconds(29), TimeSpan.FromSeconds(31));

        // Monotonic time (timestamps and timers) is the system's: a wrong clock does not change how long a second lasts.
        Assert.Equal(TimeProvider.System.TimestampFrequency, ahead.TimestampFrequency);
        Assert.InRange(TimeProvider.System.GetElapsedTime(ahead.GetTimestamp()), TimeSpan.Zero, TimeSpan.FromSeconds(1));
        foreach (var wrong in new[] { "10m", "1.5", "99999999999" })
        {
            var error = Assert.Throws<HubConfigurationException>(() => ShiftedClock.Compose(wrong));
            Assert.Contains($"{ShiftedClock.Variable} '{wrong}' is not a whole number of seconds", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_missing_or_broken_config_file_is_a_clear_error()
    {
        var missing = Assert.Throws<HubConfigurationException>(() => HubConfiguration.Load(Cli(), Path.Combine(_dir.Path, "nope.json"), new Dictionary<string, string?>()));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        var broken = Path.Combine(_dir.Path, "broken.json");
        File.WriteAllText(broken, "{ not json");
        var error = Assert.Throws<HubConfigurationException>(() => HubConfiguration.Load(Cli(), broken, new Dictionary<string, string?>()));
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configured_users_need_valid_names_and_hashes()
    {
        var configuration = HubConfiguration.Load(new Dictionary<string, string?> { ["Hub:Users:bad name"] = "x" }, null, new Dictionary<string, string?>());
        Assert.Throws<HubConfigurationException>(() => HubConfiguration.ConfiguredUsers(configuration));
    }
}
