using System.Globalization;
using System.Net.Http.Json;
using Grid.Edge.Hub.Tests.Support;
using Microsoft.Playwright;

namespace Grid.Edge.Hub.Tests.Dashboard;

/// <summary>The dashboards in real headless Chromium against a hub in demo mode.</summary>
[Collection(DashboardGroup.Name)]
public sealed class DashboardPageTests(DashboardFixture fixture)
{
    private const float Timeout = DashboardFixture.Deadline;

    /// <summary>The class list holds "stale" (a plain string would have to match the whole attribute).</summary>
    private static readonly System.Text.RegularExpressions.Regex Stale = new(@"(^|\s)stale(\s|$)");

    /// <summary>A page that records every request and every script error, to be checked at the end.</summary>
    private sealed class RecordedPage(IBrowserContext context, IPage page, List<string> requests, List<string> errors) : IAsyncDisposable
    {
        public IPage Page { get; } = page;

        public List<string> Requests { get; } = requests;

        public List<string> Errors { get; } = errors;

        public async ValueTask DisposeAsync() => await context.DisposeAsync();
    }

    /// <summary>Opens a page; with <paramref name="fakeClock"/> the page's clock can be moved on (<see cref="IPage.Clock"/>).</summary>
    private async Task<RecordedPage> OpenAsync(string path, int width = 1280, int height = 900, bool fakeClock = false)
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, Locale = "en-US", StorageState = fixture.SignedIn });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        var requests = new List<string>();
        var errors = new List<string>();
        page.Request += (_, request) => { lock (requests) requests.Add(request.Url); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                lock (errors) errors.Add(message.Text);
        };
        if (fakeClock)
            await page.Clock.InstallAsync();
        await page.GotoAsync(fixture.BaseUrl + path);
        return new RecordedPage(context, page, requests, errors);
    }

    private async Task FinishAsync(RecordedPage recorded, string screenshot)
    {
        await recorded.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, screenshot + ".png"), FullPage = true });
        lock (recorded.Requests)
        {
            var foreign = recorded.Requests.Where(url => !url.StartsWith(fixture.BaseUrl + "/", StringComparison.Ordinal) && !url.StartsWith("data:", StringComparison.Ordinal)).ToList();
            Assert.True(foreign.Count == 0, "requests to other hosts: " + string.Join(", ", foreign));
        }

        lock (recorded.Errors)
            Assert.True(recorded.Errors.Count == 0, "script errors: " + string.Join(" | ", recorded.Errors));
    }

    private static async Task<int> ChartPointsAsync(IPage page, string chart)
    {
        var locator = page.Locator($"[data-chart=\"{chart}\"][data-points]");
        await locator.WaitForAsync();
        return int.Parse((await locator.GetAttributeAsync("data-points"))!, CultureInfo.InvariantCulture);
    }

    private async Task PublishAsync(string topic, string payload)
    {
        using var client = await TestMqtt.ConnectAsync(fixture.Hub.Mqtt);
        Assert.True((await client.PublishAsync(topic, payload)).IsSuccess);
    }

    private static string At(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Home_shows_an_agent_report_and_makes_pairing_codes_that_work_once()
    {
        var oldest = DateTimeOffset.UtcNow.AddMinutes(-42).ToUnixTimeMilliseconds();
        using (var client = await TestMqtt.ConnectAsync(fixture.Hub.Mqtt))
        {
            var report = $$"""{"link":"disconnected","outboxReadings":1234,"oldestUnsentMs":{{oldest}},"droppedReadings":7,"lastError":"the hub is unreachable","vehicle":"IgnitionOff","version":"1.0"}""";
            Assert.True((await client.PublishAsync("grid/agent-test/agent", report, retain: true)).IsSuccess);
        }

        await using var recorded = await OpenAsync("/");
        var page = recorded.Page;
        var agent = page.Locator("[data-device=\"agent-test\"] .agent");
        await Assertions.Expect(agent).ToContainTextAsync("agent disconnected · 1234 waiting, oldest 42 min");
        await Assertions.Expect(agent).ToContainTextAsync("vehicle IgnitionOff");
        await Assertions.Expect(agent).ToContainTextAsync("7 dropped");
        await Assertions.Expect(agent.Locator(".agent-error")).ToHaveTextAsync("the hub is unreachable");

        await page.FillAsync("#pair-device", "phone-paired");
        await page.ClickAsync("#pair button");
        var code = page.Locator("#pair-result .pair-code");
        await Assertions.Expect(code).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[A-Z2-9]{4}-[A-Z2-9]{4}$"));
        await Assertions.Expect(page.Locator("#pair-result code")).ToContainTextAsync("grid-agent pair " + fixture.BaseUrl);
        var text = await code.TextContentAsync();
        await FinishAsync(recorded, "home-pairing");

        using var first = await fixture.Hub.Http.PostAsJsonAsync("/api/pairing/redeem", new { code = text, device = "phone-paired" });
        Assert.True(first.IsSuccessStatusCode);
        using var second = await fixture.Hub.Http.PostAsJsonAsync("/api/pairing/redeem", new { code = text, device = "phone-paired" });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, second.StatusCode);
    }

    [Fact]
    public async Task A_storm_front_and_an_overheating_engine_raise_alerts_on_every_page_and_acknowledging_shows_everywhere()
    {
        // A minute ahead, so the demo's own readings do not replace them as the latest values meanwhile.
        var ahead = At(DateTimeOffset.UtcNow.AddMinutes(1));
        await PublishAsync("grid/demo-weather/pressure_tendency", $"{{\"v\":-4.2,\"t\":{ahead}}}");
        await PublishAsync("grid/demo-van/coolant_temp", $"{{\"v\":117,\"t\":{ahead}}}");

        await using var weather = await OpenAsync("/weather");
        var storm = weather.Page.Locator("[data-alert=\"storm/demo-weather\"]");
        var coolant = weather.Page.Locator("[data-alert=\"coolant-critical/demo-van\"]");
        await Assertions.Expect(storm).ToContainTextAsync("Storm possible");
        await Assertions.Expect(coolant).ToContainTextAsync("Engine overheating");
        await Assertions.Expect(coolant).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("critical"));
        await FinishAsync(weather, "alerts-weather");

        await using var vehicle = await OpenAsync("/vehicle");
        var onVehicle = vehicle.Page.Locator("[data-alert=\"coolant-critical/demo-van\"]");
        await onVehicle.Locator("button").ClickAsync();
        await Assertions.Expect(onVehicle).ToContainTextAsync("acknowledged");
        await FinishAsync(vehicle, "alerts-vehicle-acknowledged");

        // The other page learns it on its next refresh; the API and the retained MQTT state say the same.
        await Assertions.Expect(coolant).ToContainTextAsync("acknowledged");
        var alerts = await fixture.Hub.GetAsync<Grid.Edge.Hub.Api.AlertsResponse>("/api/alerts");
        Assert.Equal(Grid.Edge.Hub.Intelligence.Alerts.AlertState.Acknowledged, alerts!.Active.Single(a => a.RuleId == "coolant-critical" && a.Subject == "demo-van").State);
        Assert.Equal(Grid.Edge.Hub.Intelligence.Alerts.AlertState.Firing, alerts.Active.Single(a => a.RuleId == "storm").State);
    }

    [Fact]
    public async Task The_alerts_page_acknowledges_lists_resolved_alerts_with_filters_and_shows_the_rules()
    {
        var ahead = DateTimeOffset.UtcNow.AddMinutes(1);
        await PublishAsync("grid/bus-3/coolant_temp", $"{{\"v\":118,\"t\":{At(ahead)}}}");
        await using var recorded = await OpenAsync("/alerts");
        var page = recorded.Page;
        var row = page.Locator("#active [data-alert=\"coolant-critical/bus-3\"]");
        await Assertions.Expect(row).ToContainTextAsync("Engine overheating");
        await Assertions.Expect(row).ToContainTextAsync("coolant_temp 118");
        await row.Locator("button").ClickAsync();
        await Assertions.Expect(row.Locator(".state")).ToContainTextAsync("acknowledged");

        // The engine cools down: the alert moves to the history, marked as seen.
        await PublishAsync("grid/bus-3/coolant_temp", $"{{\"v\":85,\"t\":{At(ahead.AddSeconds(1))}}}");
        var past = page.Locator("#history [data-history=\"coolant-critical/bus-3\"]");
        await Assertions.Expect(past).ToContainTextAsync("seen");
        await Assertions.Expect(row).ToHaveCountAsync(0);
        await page.SelectOptionAsync("#severity", "info");
        await Assertions.Expect(past).ToHaveCountAsync(0);
        await page.SelectOptionAsync("#severity", "critical");
        await page.SelectOptionAsync("#subject", "bus-3");
        await Assertions.Expect(past).ToHaveCountAsync(1);

        await Assertions.Expect(page.Locator("[data-rule=\"storm\"]")).ToContainTextAsync("pressure_tendency");
        await Assertions.Expect(page.Locator("[data-rule=\"coolant-rising\"]")).ToContainTextAsync("rate");
        await Assertions.Expect(page.Locator("#deliveries")).ToContainTextAsync("No webhooks configured");
        await FinishAsync(recorded, "alerts-page");
    }

    [Fact]
    public async Task Home_lists_the_devices_and_a_new_reading_appears_without_a_reload()
    {
        await using var recorded = await OpenAsync("/");
        var page = recorded.Page;
        await Assertions.Expect(page.Locator("[data-device=\"demo-weather\"] .badge")).ToHaveTextAsync("online");
        await Assertions.Expect(page.Locator("[data-device=\"demo-van\"] .badge")).ToHaveTextAsync("online");
        await Assertions.Expect(page.Locator("[data-series=\"demo-weather/temperature\"]")).Not.ToHaveClassAsync(Stale);

        await PublishAsync("grid/live-test/temperature", "23.4");
        await Assertions.Expect(page.Locator("[data-series=\"live-test/temperature\"] td.v")).ToHaveTextAsync("23.4 °C");
        await FinishAsync(recorded, "home");
    }

    [Fact]
    public async Task Home_shows_the_hub_s_id_what_the_store_takes_on_disk_its_memory_retention_and_largest_series()
    {
        (await fixture.Hub.Http.PostAsync("/api/storage/checkpoint", null)).EnsureSuccessStatusCode(); // chunks to list
        await using var recorded = await OpenAsync("/");
        var page = recorded.Page;
        var storage = (await fixture.Hub.GetAsync<Grid.Edge.Hub.Api.StorageResponse>("/api/storage"))!;
        var points = page.Locator("[data-storage=\"points\"] td.v");
        await Assertions.Expect(points).Not.ToHaveTextAsync("0");
        Assert.True(long.Parse((await points.TextContentAsync())!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) >= storage.Points * 9 / 10);
        await Assertions.Expect(page.Locator("[data-storage=\"disk\"] td.v")).ToContainTextAsync("B/point");
        await Assertions.Expect(page.Locator("[data-storage=\"memory\"] td.v")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ MB$"));
        await Assertions.Expect(page.Locator("#storage")).ToContainTextAsync("1-h forever");

        // Who this hub is: its id, which is also the origin its store stamps its own writes with.
        var grid = (await fixture.Hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!;
        Assert.Equal(grid.Hub.Id, storage.Origin);
        Assert.Matches("^[a-z2-7]{26}$", grid.Hub.Id);
        await Assertions.Expect(page.Locator("[data-storage=\"hub\"] td.v")).ToHaveTextAsync(grid.Hub.Id);

        // The largest series first, at most ten, each with its points and bytes per point.
        var rows = page.Locator("#storage-series tbody tr");
        await Assertions.Expect(rows.First).ToBeVisibleAsync();
        Assert.InRange(await rows.CountAsync(), 1, 10);
        var largest = storage.Series.OrderByDescending(s => s.RawBytes).First();
        await Assertions.Expect(rows.First.Locator("td").First).ToHaveTextAsync(largest.Id);
        await FinishAsync(recorded, "home-storage");
    }

    [Fact]
    public async Task The_grid_page_founds_a_grid_lists_its_members_and_leaves_it()
    {
        await using var recorded = await OpenAsync("/grid");
        var page = recorded.Page;
        var hubId = (await fixture.Hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!.Hub.Id;
        await Assertions.Expect(page.Locator("#hub-id")).ToHaveTextAsync(hubId);
        await Assertions.Expect(page.Locator("#members")).ToContainTextAsync("belongs to no grid yet");

        await page.Locator("#grid-name").FillAsync("campsite");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create a grid" }).ClickAsync();
        var me = page.Locator($"[data-member=\"{hubId}\"]");
        await Assertions.Expect(me).ToContainTextAsync("this hub, founder");
        await Assertions.Expect(me).ToContainTextAsync("every series");
        await Assertions.Expect(page.Locator("#grid-name-shown")).ToContainTextAsync("campsite");
        await Assertions.Expect(page.Locator("#create")).ToBeHiddenAsync();
        var grid = (await fixture.Hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!.Grid;
        Assert.Equal("campsite", grid.Name);
        Assert.True(grid.IsMember);

        // An invitation for another hub: a code of this grid, naming this hub's grid port.
        await Assertions.Expect(page.Locator("#peers")).ToContainTextAsync("No peer has connected yet");
        await page.GetByRole(AriaRole.Button, new() { Name = "Invite a hub" }).ClickAsync();
        await Assertions.Expect(page.Locator("#invite-code")).ToContainTextAsync("grid1-");
        var code = (await page.Locator("#invite-code").TextContentAsync())!.Split('\n')[0];
        var invitation = Grid.Edge.Hub.Replication.Membership.Invitation.TryDecode(code, out var decodeError);
        Assert.True(invitation is not null, decodeError);
        Assert.Equal(grid.Id, invitation.Grid.ToString());
        var port = (await fixture.Hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!.Links!.Port;
        Assert.Contains($"127.0.0.1:{port}", invitation.Addresses);

        // Leaving asks first; once confirmed the hub says it no longer takes part, and the server agrees.
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await me.GetByRole(AriaRole.Button, new() { Name = "Leave" }).ClickAsync();
        await Assertions.Expect(page.Locator("#hub")).ToContainTextAsync("removed from the grid");
        Assert.False((await fixture.Hub.GetAsync<Grid.Edge.Hub.GridNode.GridResponse>("/api/grid"))!.Grid.IsMember);
        await Assertions.Expect(page.Locator("#grid-error")).ToBeEmptyAsync();
        await FinishAsync(recorded, "grid");
    }

    [Fact]
    public async Task A_device_that_stopped_reporting_is_shown_as_stale_with_its_age()
    {
        await PublishAsync("grid/stale-test/humidity", $"{{\"v\":61,\"t\":{At(DateTimeOffset.UtcNow.AddHours(-2))}}}");
        await using var recorded = await OpenAsync("/");
        var row = recorded.Page.Locator("[data-series=\"stale-test/humidity\"]");
        await Assertions.Expect(row).ToHaveClassAsync(Stale);
        await Assertions.Expect(row.Locator("td.age")).ToHaveTextAsync("2 h");
        await FinishAsync(recorded, "home-stale");
    }

    [Fact]
    public async Task Weather_shows_current_conditions_and_full_charts_and_updates_live()
    {
        await using var recorded = await OpenAsync("/weather");
        var page = recorded.Page;
        Assert.True(await ChartPointsAsync(page, "Temperature") > 500);
        Assert.True(await ChartPointsAsync(page, "Pressure") > 500);
        Assert.True(await ChartPointsAsync(page, "Wind") > 500);
        await Assertions.Expect(page.Locator("[data-metric=\"temperature\"] .sub").First).ToContainTextAsync("today");
        await Assertions.Expect(page.Locator(".tile[data-metric=\"temperature\"]")).Not.ToHaveClassAsync(Stale);

        // The hub derived a forecast and a pressure tendency from the station's pressure (7 days of it).
        var forecasts = new[] { "Settled fine", "Fine weather", "Fine", "Fairly fine", "Showery", "Unsettled", "Rain", "Very unsettled", "Changeable", "Becoming fine", "Rather unsettled", "Stormy" };
        await Assertions.Expect(page.Locator(".tile[data-metric=\"forecast\"] .value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^(" + string.Join('|', forecasts) + ")"));
        await Assertions.Expect(page.Locator(".tile[data-metric=\"pressure\"] .tendency")).ToContainTextAsync("hPa in 3 h");

        // Rain totals and 10-minute wind means come from the hub; resetting the rain total dates it from today.
        await Assertions.Expect(page.Locator(".tile[data-metric=\"rain\"] .rain-totals")).ToContainTextAsync("24 h");
        await Assertions.Expect(page.Locator(".tile[data-metric=\"wind_speed\"] .wind-mean")).ToContainTextAsync("Beaufort");
        await page.ClickAsync("#rain-reset");
        await Assertions.Expect(page.Locator(".tile[data-metric=\"rain\"] .rain-totals")).ToContainTextAsync("since " + await page.EvaluateAsync<string>("() => new Date().toLocaleDateString()"));

        // A minute ahead, so the demo station's own readings (older) do not replace it on screen.
        await PublishAsync("grid/demo-weather/temperature", $"{{\"v\":44.4,\"t\":{At(DateTimeOffset.UtcNow.AddMinutes(1))}}}");
        await Assertions.Expect(page.Locator(".tile[data-metric=\"temperature\"] .value")).ToHaveTextAsync("44.4 °C");

        await page.ClickAsync("button[data-range=\"7 d\"]");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-chart=\"Temperature\"] .title').textContent.length > 0");
        Assert.True(await ChartPointsAsync(page, "Temperature") > 1000);
        await FinishAsync(recorded, "weather");

        // The reset went through with the page's antiforgery token; the same session without it is refused.
        Assert.NotNull((await fixture.Hub.GetAsync<Grid.Edge.Hub.Api.WeatherNowResponse>("/api/weather/demo-weather/now"))!.Rain!.ResetAtMs);
        Assert.Equal(400, await page.EvaluateAsync<int>("async () => (await fetch('/api/weather/demo-weather/rain/reset', { method: 'POST' })).status"));
    }

    [Theory]
    [InlineData("weather", "fading-station", "temperature", "12.5", ".tile", ".value", "12.5 °C")]
    [InlineData("vehicle", "fading-van", "rpm", "850", ".gauge", ".reading", "850")]
    public async Task A_device_page_greys_a_value_once_its_device_stops_reporting(string page, string device, string metric, string value, string card, string valueSelector, string shown)
    {
        await PublishAsync($"grid/{device}/{metric}", value);
        await using var recorded = await OpenAsync($"/{page}?device={device}", fakeClock: true);
        var box = recorded.Page.Locator($"{card}[data-metric=\"{metric}\"]");
        await Assertions.Expect(box.Locator(valueSelector)).ToHaveTextAsync(shown);
        await Assertions.Expect(box).Not.ToHaveClassAsync(Stale);

        // Eleven minutes pass with no reading: a series whose interval is not known yet is stale after ten.
        await recorded.Page.Clock.FastForwardAsync("11:00");
        await Assertions.Expect(box).ToHaveClassAsync(Stale);
        await Assertions.Expect(box.Locator(".age")).ToHaveTextAsync("11 min ago");
        await FinishAsync(recorded, page + "-stale");
    }

    [Fact]
    public async Task Weather_fits_a_phone_screen()
    {
        await using var recorded = await OpenAsync("/weather", 390, 844);
        var page = recorded.Page;
        Assert.True(await ChartPointsAsync(page, "Temperature") > 100);
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth + 1");
        Assert.False(overflow, "the page scrolls sideways on a phone");
        await FinishAsync(recorded, "weather-phone");
    }

    [Fact]
    public async Task Vehicle_shows_live_gauges_trip_charts_and_new_trouble_codes()
    {
        await using var recorded = await OpenAsync("/vehicle");
        var page = recorded.Page;
        foreach (var metric in new[] { "rpm", "speed", "coolant_temp", "battery_voltage", "fuel_level", "engine_load" })
            await Assertions.Expect(page.Locator($".gauge[data-metric=\"{metric}\"] .reading")).Not.ToHaveTextAsync("–");
        await Assertions.Expect(page.Locator(".gauge[data-metric=\"rpm\"]")).Not.ToHaveClassAsync(Stale);
        await Assertions.Expect(page.Locator("#contact")).ToContainTextAsync("last contact");
        await page.ClickAsync("button[data-range=\"7 d\"]");
        try
        {
            await page.WaitForFunctionAsync("() => Number(document.querySelector('[data-chart=\"Speed\"]')?.dataset.points) > 100");
        }
        catch (TimeoutException)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, "vehicle-7d-timeout.png"), FullPage = true });
            var charts = await page.EvaluateAsync<string>("() => [...document.querySelectorAll('[data-chart]')].map(c => c.dataset.chart + '=' + c.dataset.points).join(', ')");
            throw new TimeoutException($"the 7-day speed chart did not fill: {charts}; errors: {string.Join(" | ", recorded.Errors)}");
        }

        await PublishAsync("grid/demo-van/dtc", "{\"v\":769}"); // 0x0301
        await Assertions.Expect(page.Locator("[data-dtc=\"P0301\"]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-dtc=\"P0301\"] .description")).ToHaveTextAsync("Cylinder 1 misfire detected");
        await Assertions.Expect(page.Locator("[data-dtc=\"P0301\"]")).ToContainTextAsync("critical");
        await Assertions.Expect(page.Locator(".battery-health")).ToContainTextAsync("Battery");

        // The van reports its own odometer (PID A6); marking the oil change done records it at that distance.
        await Assertions.Expect(page.Locator("#odometer")).ToContainTextAsync("Odometer");
        var oil = page.Locator("[data-service=\"oil\"]");
        await Assertions.Expect(oil).ToContainTextAsync("never recorded");
        await oil.Locator("button", new LocatorLocatorOptions { HasText = "Done today" }).ClickAsync();
        await Assertions.Expect(oil).ToContainTextAsync("done " + DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await Assertions.Expect(oil.Locator(".status")).ToHaveTextAsync("ok");

        // The van has a timing chain, not a belt; it needs gearbox oil every 60,000 km.
        var belt = page.Locator("[data-service=\"timing-belt\"]");
        await belt.Locator("button.link").ClickAsync();
        await belt.Locator("button", new LocatorLocatorOptions { HasText = "Remove" }).ClickAsync();
        await Assertions.Expect(belt).ToHaveCountAsync(0);
        await page.ClickAsync("#add-service");
        await page.FillAsync(".service-editor input[aria-label=\"service item name\"]", "Gearbox oil");
        await page.FillAsync(".service-editor input[aria-label=\"interval in km\"]", "60000");
        await page.ClickAsync(".service-editor button[type=submit]");
        await Assertions.Expect(page.Locator("[data-service=\"gearbox-oil\"]")).ToContainTextAsync("60,000 km");
        await FinishAsync(recorded, "vehicle");
    }

    [Fact]
    public async Task Explorer_draws_seven_days_of_minute_data_zooms_and_downloads_csv()
    {
        var to = DateTimeOffset.UtcNow;
        await using var recorded = await OpenAsync($"/explorer?series=demo-weather/pressure&from={At(to.AddDays(-7))}&to={At(to)}");
        var page = recorded.Page;
        // Raw while the newest points are a minute apart; once the demo's live 2 s readings are the newest (the
        // fixture's age decides), the page asks for 1-minute means instead: minute data either way.
        await Assertions.Expect(page.Locator("#info")).ToContainTextAsync(new System.Text.RegularExpressions.Regex("resolution (raw|1 min)"));
        Assert.InRange(await ChartPointsAsync(page, "demo-weather/pressure"), 7 * 24 * 60 - 10, 7 * 24 * 60 + 400);

        var href = await page.Locator("#csv").GetAttributeAsync("href");
        var csv = await page.APIRequest.GetAsync(fixture.BaseUrl + href);
        Assert.True(csv.Ok);
        var text = await csv.TextAsync();
        Assert.Matches("^time,unix_ms,(value|mean) \\(hPa\\)\n", text); // raw or 1-minute means, as drawn
        Assert.True(text.Split('\n').Length > 10_000);

        // Drag across the middle of the plot: the window narrows and the data is fetched again.
        var plot = page.Locator(".u-over");
        var box = (await plot.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width * 0.4f, box.Y + box.Height / 2);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width * 0.45f, box.Y + box.Height / 2, new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("() => Number(document.querySelector('[data-points]').dataset.points) < 2000");
        await FinishAsync(recorded, "explorer");
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardGroup : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboard";
}
