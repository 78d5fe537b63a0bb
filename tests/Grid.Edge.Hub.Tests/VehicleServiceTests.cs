using System.Globalization;
using System.Net.Http.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;

namespace Grid.Edge.Hub.Tests;

/// <summary>The hub's virtual odometer, engine hours and service schedule over real MQTT and HTTP, kept across restarts.</summary>
public sealed class VehicleServiceTests
{
    private static string Batch(params (string Metric, double Value, long T)[] readings) =>
        "{\"readings\":[" + string.Join(',', readings.Select(r => string.Create(CultureInfo.InvariantCulture, $"{{\"m\":\"{r.Metric}\",\"v\":{r.Value},\"t\":{r.T}}}"))) + "]}";

    private static async Task<ServiceResponse> WaitAsync(InProcessHub hub, string device, Func<ServiceResponse, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var service = (await hub.GetAsync<ServiceResponse>($"/api/vehicle/{device}/service"))!;
            if (done(service))
                return service;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(System.Text.Json.JsonSerializer.Serialize(service));
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task The_odometer_counts_on_from_its_anchor_service_items_come_due_and_it_all_survives_a_restart()
    {
        using var data = new TempDirectory();
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 600_000;
        await using (var hub = await InProcessHub.StartAsync(dataDir: data.Path))
        {
            using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
            Assert.True((await van.PublishAsync("grid/van-2/status", "online")).IsSuccess); // vehicle records are for known devices
            using (var anchor = await hub.Http.PostAsJsonAsync("/api/vehicle/van-2/odometer", new OdometerRequest(198_590)))
                Assert.True(anchor.IsSuccessStatusCode);
            using (var bad = await hub.Http.PostAsJsonAsync("/api/vehicle/van-2/odometer", new OdometerRequest(-5)))
                Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);

            // 0 -> 72 km/h in 1 s then 59 s at 72 km/h: 1.19 km; two engine starts of 60 s and 30 s.
            var speeds = new List<(string, double, long)> { ("speed", 0, t) };
            for (var s = 1; s <= 60; s++)
                speeds.Add(("speed", 72, t + (s * 1000L)));
            Assert.True((await van.PublishAsync("grid/van-2/batch", Batch([.. speeds]))).IsSuccess);
            Assert.True((await van.PublishAsync("grid/van-2/batch", Batch(("run_time", 30, t + 30_000), ("run_time", 60, t + 60_000), ("run_time", 10, t + 120_000), ("run_time", 30, t + 140_000)))).IsSuccess);
            var moved = await WaitAsync(hub, "van-2", s => s.OdometerKm >= 198_591.1 && s.EngineHours > 0);
            Assert.Equal(198_591.2, moved.OdometerKm);
            Assert.Equal(Math.Round(90 / 3600.0, 2), moved.EngineHours);

            // Oil last done 13,600 km ago of a 15,000 km interval: due soon (90.7 %).
            using (var done = await hub.Http.PostAsJsonAsync("/api/vehicle/van-2/service/oil/done", new ServiceDoneRequest(184_991.2, DateOnly.FromDateTime(DateTime.UtcNow.AddMonths(-2)))))
                Assert.True(done.IsSuccessStatusCode);
            var oil = (await hub.GetAsync<ServiceResponse>("/api/vehicle/van-2/service"))!.Items.Single(i => i.Id == "oil");
            Assert.Equal("dueSoon", oil.Status);
            Assert.Equal(0.907, oil.DistanceShare);
            using (var missing = await hub.Http.PostAsJsonAsync("/api/vehicle/van-2/service/warp-drive/done", new ServiceDoneRequest(null, null)))
                Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);

            // The vehicle's own odometer, when it reports one, takes over.
            Assert.True((await van.PublishAsync("grid/van-2/batch", Batch(("odometer", 200_000, t + 200_000)))).IsSuccess);
            var due = await WaitAsync(hub, "van-2", s => s.OdometerKm == 200_000);
            Assert.Equal("due", due.Items.Single(i => i.Id == "oil").Status);

            // The bookkeeping series show the new state once the store has it on disk (the tracker's own state is first).
            var series = await Eventually.WaitForAsync(
                async () => (await hub.GetAsync<List<SeriesResponse>>("/api/series"))!,
                list => list.Any(s => s.Id == "van-2/virtual_odometer" && s.Latest.V == 200_000) && list.Any(s => s.Id == "van-2/service_due" && s.Latest.V >= 1),
                "the bookkeeping series of the new odometer");
            Assert.Contains(series!, s => s.Id == "van-2/virtual_odometer" && s.Latest.V == 200_000);
            Assert.Contains(series!, s => s.Id == "van-2/service_due" && s.Latest.V >= 1);
            Assert.Empty(hub.Logs.Errors);
        }

        await using var again = await InProcessHub.StartAsync(dataDir: data.Path);
        var kept = (await again.GetAsync<ServiceResponse>("/api/vehicle/van-2/service"))!;
        Assert.Equal(200_000, kept.OdometerKm);
        Assert.Equal("due", kept.Items.Single(i => i.Id == "oil").Status);
    }

    [Fact]
    public async Task Service_items_can_be_added_changed_and_removed_and_bad_ones_are_refused_with_the_reason()
    {
        await using var hub = await InProcessHub.StartAsync();
        using (var van = await TestMqtt.ConnectAsync(hub.Mqtt))
            Assert.True((await van.PublishAsync("grid/van-4/status", "online")).IsSuccess); // vehicle records are for known devices
        using (var anchor = await hub.Http.PostAsJsonAsync("/api/vehicle/van-4/odometer", new OdometerRequest(198_600)))
            Assert.True(anchor.IsSuccessStatusCode);
        using (var done = await hub.Http.PostAsJsonAsync("/api/vehicle/van-4/service/oil/done", new ServiceDoneRequest(185_000, DateOnly.FromDateTime(DateTime.UtcNow))))
            Assert.Equal("dueSoon", (await done.Content.ReadFromJsonAsync<ServiceResponse>(Json.Options))!.Items.Single(i => i.Id == "oil").Status);

        // A shorter oil interval (severe use) makes the same 13,600 km overdue.
        using (var shorter = await hub.Http.PutAsJsonAsync("/api/vehicle/van-4/service/oil", new ServiceItemRequest("Engine oil (severe use)", 10_000, 180)))
        {
            var oil = (await shorter.Content.ReadFromJsonAsync<ServiceResponse>(Json.Options))!.Items.Single(i => i.Id == "oil");
            Assert.Equal(("Engine oil (severe use)", "overdue", 185_000.0), (oil.Name, oil.Status, oil.DoneAtKm!.Value));
        }

        using (var added = await hub.Http.PutAsJsonAsync("/api/vehicle/van-4/service/gearbox-oil", new ServiceItemRequest("Gearbox oil", 60_000, null)))
            Assert.Contains((await added.Content.ReadFromJsonAsync<ServiceResponse>(Json.Options))!.Items, i => i.Id == "gearbox-oil" && i.IntervalKm == 60_000);
        using (var removed = await hub.Http.DeleteAsync("/api/vehicle/van-4/service/timing-belt"))
            Assert.DoesNotContain((await removed.Content.ReadFromJsonAsync<ServiceResponse>(Json.Options))!.Items, i => i.Id == "timing-belt");
        using (var again = await hub.Http.DeleteAsync("/api/vehicle/van-4/service/timing-belt"))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, again.StatusCode);

        (string Item, ServiceItemRequest Request, string Reason)[] bad =
        [
            ("Oil Change", new("Oil", 10_000, null), "not a service item id"),
            ("wipers", new(" ", 10_000, null), "name of 1-80"),
            ("wipers", new("Wipers", null, null), "give an interval"),
            ("wipers", new("Wipers", 5, null), "intervalKm must be"),
            ("wipers", new("Wipers", null, 100_000), "intervalDays must be"),
        ];
        foreach (var (item, request, reason) in bad)
        {
            using var refused = await hub.Http.PutAsJsonAsync($"/api/vehicle/van-4/service/{Uri.EscapeDataString(item)}", request);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(reason, (await refused.Content.ReadFromJsonAsync<ErrorResponse>(Json.Options))!.Error, StringComparison.Ordinal);
        }

        Assert.DoesNotContain((await hub.GetAsync<ServiceResponse>("/api/vehicle/van-4/service"))!.Items, i => i.Id == "wipers");
    }

    [Fact]
    public async Task Vehicle_routes_refuse_device_ids_that_break_the_rule_or_never_reported_and_create_nothing()
    {
        await using var hub = await InProcessHub.StartAsync();
        (string Method, string Path)[] routes =
        [
            ("POST", "odometer"), ("POST", "service/oil/done"), ("PUT", "service/oil"), ("DELETE", "service/oil"), ("GET", "service"),
        ];
        foreach (var (device, expected, sentence) in new[]
        {
            ("never-heard", System.Net.HttpStatusCode.NotFound, "no device 'never-heard' has reported to this hub"),
            ("bad%20id", System.Net.HttpStatusCode.BadRequest, "the device id contains ' '"),
            (new string('a', 65), System.Net.HttpStatusCode.BadRequest, "the device id is longer than 64 characters"),
        })
        {
            foreach (var (method, path) in routes)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), $"/api/vehicle/{device}/{path}");
                if (method is "POST" or "PUT")
                    request.Content = JsonContent.Create(new { km = 1000, name = "Oil", intervalKm = 10_000 });
                using var response = await hub.Http.SendAsync(request);
                Assert.True(response.StatusCode == expected, $"{method} {path} for '{device}': {response.StatusCode}");
                Assert.Contains(sentence, (await response.Content.ReadFromJsonAsync<ErrorResponse>(Json.Options))!.Error, StringComparison.Ordinal);
            }
        }

        Assert.Empty((await hub.GetAsync<List<SeriesResponse>>("/api/series"))!);
        Assert.False(File.Exists(Path.Combine(hub.DataDir, "vehicles.json")) && (await File.ReadAllTextAsync(Path.Combine(hub.DataDir, "vehicles.json"))).Contains("never-heard", StringComparison.Ordinal));
    }

    private static async Task<T> PollAsync<T>(InProcessHub hub, string path, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var value = (await hub.GetAsync<T>(path))!;
            if (done(value))
                return value;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(path + ": " + System.Text.Json.JsonSerializer.Serialize(value));
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_new_trouble_code_alerts_once_and_a_code_missing_from_a_later_read_is_shown_cleared()
    {
        await using var hub = await InProcessHub.StartAsync();
        using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1_200_000;

        // Read 1: P0301 for the first time.
        Assert.True((await van.PublishAsync("grid/van-5/batch", Batch(("dtc_count", 1, t), ("dtc", 0x0301, t)))).IsSuccess);
        var fired = await PollAsync<AlertsResponse>(hub, "/api/alerts", a => a.Active.Any(x => x.RuleId == "new-trouble-code" && x.Subject == "van-5"));
        Assert.Equal(1, fired.Active.Single(x => x.RuleId == "new-trouble-code").Values["dtc_new"]);

        // Read 2, five minutes on: the same code is not new any more.
        Assert.True((await van.PublishAsync("grid/van-5/batch", Batch(("dtc_count", 1, t + 300_000), ("dtc", 0x0301, t + 300_000)))).IsSuccess);
        var resolved = await PollAsync<AlertsResponse>(hub, "/api/alerts", a => a.History.Any(x => x.RuleId == "new-trouble-code" && x.Subject == "van-5"));
        Assert.DoesNotContain(resolved.Active, x => x.RuleId == "new-trouble-code");
        Assert.Null((await hub.GetAsync<VehicleNowResponse>("/api/vehicle/van-5/now"))!.Codes.Single().ClearedAt);

        // Read 3: no codes (someone cleared them).
        Assert.True((await van.PublishAsync("grid/van-5/batch", Batch(("dtc_count", 0, t + 600_000)))).IsSuccess);
        var now = await PollAsync<VehicleNowResponse>(hub, "/api/vehicle/van-5/now", v => v.Codes.Single().ClearedAt is not null);
        var code = now.Codes.Single();
        Assert.Equal(("P0301", t + 600_000, t + 300_000, 2), (code.Code, code.ClearedAt!.Value, code.LastSeen, code.Times));
        Assert.Null(now.WorstSeverity);
        Assert.Empty(hub.Logs.Errors);
    }

    [Fact]
    public async Task Coolant_rising_five_degrees_a_minute_above_100_degC_alerts_from_its_rate_of_change()
    {
        await using var hub = await InProcessHub.StartAsync();
        using var van = await TestMqtt.ConnectAsync(hub.Mqtt);
        var t = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5_000;
        Assert.True((await van.PublishAsync("grid/van-6/batch", Batch(("coolant_temp", 98, t - 120_000), ("coolant_temp", 99, t - 60_000), ("coolant_temp", 102, t - 30_000)))).IsSuccess);
        // A later reading of the same van that fires another rule at once: once that alert is up, the van was evaluated
        // with the coolant above in the store, and 3 degC a minute must not have raised coolant-rising.
        Assert.True((await van.PublishAsync("grid/van-6/wind_gust", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":20,\"t\":{t - 20_000}}}"))).IsSuccess);
        var evaluated = await PollAsync<AlertsResponse>(hub, "/api/alerts", a => a.Active.Any(x => x.RuleId == "high-wind" && x.Subject == "van-6"));
        Assert.DoesNotContain(evaluated.Active, a => a.RuleId == "coolant-rising");
        Assert.True((await van.PublishAsync("grid/van-6/coolant_temp", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":106,\"t\":{t}}}"))).IsSuccess);
        var alerts = await PollAsync<AlertsResponse>(hub, "/api/alerts", a => a.Active.Any(x => x.RuleId == "coolant-rising"));
        Assert.Equal(7, alerts.Active.Single(x => x.RuleId == "coolant-rising").Values["rate:coolant_temp:1"]);
    }
}
