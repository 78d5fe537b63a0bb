using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace Grid.Edge.Hub.Tests;

/// <summary>Alert rules in the hub over real MQTT and HTTP: firing, retained publication, acknowledgement, resolution.</summary>
public sealed class AlertTests
{
    private const string Rules = """
        [
          { "Id": "coolant-hot", "ForSeconds": 0 },
          { "Id": "frost", "Enabled": false },
          { "Id": "tank-cold", "Title": "Water tank near freezing", "Severity": "critical", "Devices": "van*",
            "When": { "<": [ { "var": "water_temp" }, 2 ] }, "ClearWhen": { ">": [ { "var": "water_temp" }, 3 ] } }
        ]
        """;

    [Fact]
    public async Task An_alert_fires_is_published_retained_is_acknowledged_and_resolves()
    {
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "alert-rules.json"), Rules);
        await using var hub = await InProcessHub.StartAsync(dataDir: data.Path);
        var rules = (await hub.GetAsync<AlertsResponse>("/api/alerts"))!.Rules;
        Assert.Contains(rules, r => r.Id == "tank-cold");
        Assert.DoesNotContain(rules, r => r.Id == "frost");
        Assert.Equal(0, rules.Single(r => r.Id == "coolant-hot").ForSeconds);

        var seen = new ConcurrentQueue<(string Topic, string State)>();
        using var watcher = await TestMqtt.ConnectAsync(hub.Mqtt);
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            using var json = JsonDocument.Parse(e.ApplicationMessage.Payload);
            seen.Enqueue((e.ApplicationMessage.Topic, json.RootElement.GetProperty("state").GetString()!));
            return Task.CompletedTask;
        };
        await watcher.SubscribeAsync("grid/alerts/#");

        using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
        await van.PublishAsync("grid/van-7/water_temp", "1.5");
        await van.PublishAsync("grid/van-7/coolant_temp", "111");
        var active = await WaitForAsync(hub, a => a.Active.Count == 2);
        Assert.Equal(["coolant-hot", "tank-cold"], active.Active.Select(a => a.RuleId).Order());
        Assert.All(active.Active, a => Assert.Equal("van-7", a.Subject));
        Assert.Equal(1.5, active.Active.Single(a => a.RuleId == "tank-cold").Values["water_temp"]);

        using (var ack = await hub.Http.PostAsync("/api/alerts/tank-cold/van-7/ack", null))
            Assert.True(ack.IsSuccessStatusCode);
        using (var missing = await hub.Http.PostAsync("/api/alerts/tank-cold/weather/ack", null))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);

        // Hysteresis: 2.5 is above the trigger but not above the clear level.
        await van.PublishAsync("grid/van-7/water_temp", "2.5");
        await van.PublishAsync("grid/van-7/coolant_temp", "95");
        var after = await WaitForAsync(hub, a => a.Active.Count == 1);
        Assert.Equal("\"acknowledged\"", JsonSerializer.Serialize(after.Active[0].State, Json.Options));
        await van.PublishAsync("grid/van-7/water_temp", "4");
        var resolved = await WaitForAsync(hub, a => a.Active.Count == 0 && a.History.Count == 2);
        Assert.All(resolved.History, h => Assert.NotNull(h.ResolvedAt));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (seen.Count < 5 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(
            ["grid/alerts/coolant-hot/van-7:firing", "grid/alerts/coolant-hot/van-7:resolved", "grid/alerts/tank-cold/van-7:firing", "grid/alerts/tank-cold/van-7:acknowledged", "grid/alerts/tank-cold/van-7:resolved"],
            seen.Select(s => $"{s.Topic}:{s.State}").OrderBy(s => s.Split(':')[0], StringComparer.Ordinal).ThenBy(s => s.EndsWith("firing", StringComparison.Ordinal) ? 0 : s.EndsWith("acknowledged", StringComparison.Ordinal) ? 1 : 2));

        // The retained state is there for a tool that connects later.
        var late = new ConcurrentQueue<string>();
        using var newcomer = await TestMqtt.ConnectAsync(hub.Mqtt);
        newcomer.ApplicationMessageReceivedAsync += e =>
        {
            late.Enqueue(e.ApplicationMessage.Topic);
            return Task.CompletedTask;
        };
        await newcomer.SubscribeAsync("grid/alerts/#");
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (late.Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(["grid/alerts/coolant-hot/van-7", "grid/alerts/tank-cold/van-7"], late.Order(StringComparer.Ordinal));
        Assert.Empty(hub.Logs.Errors);
        var rejections = await hub.GetAsync<RejectionsResponse>("/api/ingest/rejections");
        Assert.Equal(0, rejections!.Total);
    }

    [Fact]
    public async Task Active_alerts_their_acknowledgements_and_history_survive_a_restart_and_a_damaged_state_file_is_set_aside()
    {
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "alert-rules.json"), Rules);
        await using (var hub = await InProcessHub.StartAsync(dataDir: data.Path))
        {
            using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
            await van.PublishAsync("grid/van-8/water_temp", "1.0");
            await van.PublishAsync("grid/van-8/coolant_temp", "112");
            await WaitForAsync(hub, a => a.Active.Count(x => x.Subject == "van-8") == 2);
            using (var ack = await hub.Http.PostAsync("/api/alerts/tank-cold/van-8/ack", null))
                Assert.True(ack.IsSuccessStatusCode);
            await van.PublishAsync("grid/van-8/coolant_temp", "90");
            await WaitForAsync(hub, a => a.History.Any(x => x.RuleId == "coolant-hot"));
        }

        await using (var again = await InProcessHub.StartAsync(dataDir: data.Path))
        {
            var alerts = (await again.GetAsync<AlertsResponse>("/api/alerts"))!;
            var tank = Assert.Single(alerts.Active);
            Assert.Equal(("tank-cold", "van-8", Intelligence.Alerts.AlertState.Acknowledged), (tank.RuleId, tank.Subject, tank.State));
            Assert.Equal("coolant-hot", Assert.Single(alerts.History).RuleId);
            Assert.Empty(again.Logs.Errors);
        }

        await File.WriteAllTextAsync(Path.Combine(data.Path, "alerts.json"), "{\"active\": [trunc");
        await using var damaged = await InProcessHub.StartAsync(dataDir: data.Path);
        Assert.Empty((await damaged.GetAsync<AlertsResponse>("/api/alerts"))!.Active);
        Assert.Contains(damaged.Logs.Warnings, w => w.Contains("could not be read", StringComparison.Ordinal));
        Assert.Single(Directory.GetFiles(data.Path, "alerts.json.damaged-*"));
    }

    private static async Task<AlertsResponse> WaitForAsync(InProcessHub hub, Func<AlertsResponse, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var alerts = (await hub.GetAsync<AlertsResponse>("/api/alerts"))!;
            if (done(alerts))
                return alerts;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("alerts: " + JsonSerializer.Serialize(alerts));
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_bad_rules_file_stops_the_hub_with_the_reason()
    {
        using var data = new TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data.Path, "alert-rules.json"), """[ { "Id": "x", "When": { "exec": [1] } } ]""");
        var error = await Assert.ThrowsAsync<HubConfigurationException>(() => InProcessHub.StartAsync(dataDir: data.Path));
        Assert.Contains("unknown operator 'exec'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alerts_go_to_configured_webhooks_with_retries_and_every_attempt_is_logged()
    {
        using var data = new TempDirectory();
        var received = new ConcurrentQueue<(string Path, string Body, string? Title, int Status)>();
        var requests = 0;
        // The receiver listens on a port the OS chose, and keeps it.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            // The receiver is briefly unwell: the first request fails.
            var status = Interlocked.Increment(ref requests) == 1 ? 500 : 200;
            received.Enqueue((context.Request.Path, body, context.Request.Headers["Title"], status));
            return Results.StatusCode(status);
        });
        await receiver.StartAsync();
        var url = receiver.Urls.Single();

        await File.WriteAllTextAsync(Path.Combine(data.Path, "notifications.json"), $$"""
            { "Webhooks": [
              { "Name": "phone", "Url": "{{url}}/grid", "Format": "ntfy", "Severities": ["critical"], "RetrySeconds": [0.2, 0.2] },
              { "Name": "log", "Url": "{{url}}/log", "Format": "json", "Severities": ["info"] }
            ] }
            """);
        await File.WriteAllTextAsync(Path.Combine(data.Path, "alert-rules.json"), """[ { "Id": "coolant-critical", "ForSeconds": 0 }, { "Id": "coolant-hot", "Enabled": false } ]""");
        await using var hub = await InProcessHub.StartAsync(dataDir: data.Path);
        using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
        await van.PublishAsync("grid/van-9/coolant_temp", "116");

        // The hub logs an attempt after its answer arrives: wait for the log to hold the successful one.
        var attempts = await Eventually.WaitForAsync(
            async () =>
            {
                using var log = JsonDocument.Parse(await hub.Http.GetStringAsync("/api/alerts/deliveries"));
                return log.RootElement.GetProperty("deliveries").EnumerateArray()
                    .Select(d => (d.GetProperty("attempt").GetInt32(), d.GetProperty("delivered").GetBoolean(), d.GetProperty("outcome").GetString()))
                    .OrderBy(d => d.Item1).ToList();
            },
            list => list.Any(d => d.Item2),
            "a delivered webhook attempt in /api/alerts/deliveries");
        Assert.Equal([(1, false, "HTTP 500"), (2, true, "HTTP 200")], attempts);

        // Delivered on the second attempt, so nothing more goes out; the info-only webhook gets nothing.
        Assert.Equal(
            [("/grid", "Engine overheating (coolant 115 degC or more): stop safely (van-9)", "Grid.Edge critical", 500), ("/grid", "Engine overheating (coolant 115 degC or more): stop safely (van-9)", "Grid.Edge critical", 200)],
            received.Select(r => (r.Path, r.Body, r.Title, r.Status)));
        using var webhooks = JsonDocument.Parse(await hub.Http.GetStringAsync("/api/alerts/deliveries"));
        Assert.Equal(2, webhooks.RootElement.GetProperty("webhooks").GetArrayLength());

        // The path (an ntfy topic is the secret) is never shown: scheme and host only.
        Assert.Equal(
            [url, url],
            webhooks.RootElement.GetProperty("webhooks").EnumerateArray().Select(w => w.GetProperty("url").GetString()));
        Assert.DoesNotContain("/grid", webhooks.RootElement.GetRawText(), StringComparison.Ordinal);
    }
}
