using Grid.Edge.Agent.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Tests;

/// <summary>The agent keeps what it took even when stopped at once.</summary>
public sealed class AgentShutdownTests
{
    [Fact]
    public async Task Readings_taken_just_before_a_stop_are_stored()
    {
        using var dir = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var agent = AgentHost.Build(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agent:DeviceId"] = "van-1",
            ["Agent:HubHost"] = "127.0.0.1",
            ["Agent:HubMqttPort"] = "1",
            ["Agent:DataDir"] = dir.Path,
        }).Build(), l => { l.ClearProviders(); l.AddProvider(logs); });
        await agent.StartAsync();
        var inbox = agent.Services.GetRequiredService<ReadingInbox>();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
        for (var i = 0; i < 6000; i++)
            inbox.Add(new OutboxReading("counter", i, string.Empty, start + i));
        await agent.StopAsync();
        agent.Dispose();
        using var outbox = new SqliteOutbox(Path.Combine(dir.Path, "outbox.db"), new OutboxOptions(), TimeProvider.System);
        var waiting = outbox.Peek(100_000).Select(r => r.Reading).ToList();
        // Exactly the readings taken, in order, each once; beside them only the agent's own reports about itself.
        Assert.True(waiting.Count(r => r.Metric == "counter") == 6000, $"{outbox.Count} waiting, dropped {outbox.Dropped}; {string.Join("\n", logs.Entries.Select(e => e.Message))}");
        Assert.Equal(Enumerable.Range(0, 6000).Select(i => new OutboxReading("counter", i, string.Empty, start + i)), waiting.Where(r => r.Metric == "counter"));
        Assert.All(waiting.Where(r => r.Metric != "counter"), r => Assert.Contains(r.Metric, new[] { "outbox_depth", "outbox_oldest_age", "dropped_readings" }));
        Assert.Equal(0, outbox.Dropped);
    }
}
