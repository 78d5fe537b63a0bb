using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Dashboard;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Testing.Servers;
using Microsoft.Playwright;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>The home page shows each export's state (in real headless Chromium): in step while InfluxDB takes the points, retrying with the reason while it is away.</summary>
[Collection(HubProcessGroup.Name)]
public sealed class ExportHomePageTests
{
    [Fact]
    public async Task The_home_page_shows_an_export_in_step_and_then_why_it_falls_behind()
    {
        await using var influx = await InfluxServer.StartAsync();
        await influx.ExecuteAsync("grid", "CREATE DATABASE grid");
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:Exports:0:Name"] = "lake",
            ["Hub:Exports:0:Kind"] = "influx1",
            ["Hub:Exports:0:Url"] = influx.Http.ToString(),
            ["Hub:Exports:0:Database"] = "grid",
        });
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        await ExportData.PublishAsync(client, "plant1", "flow", "l", 0, 100);
        await ExportData.WaitForAsync(() => influx.PointsAsync("grid", "flow"), 100, "flow");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = DashboardFixture.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        });
        var baseUrl = hub.BaseAddress.ToString().TrimEnd('/');
        var signedIn = await DashboardFixture.SignInThroughTheLoginPageAsync(browser, baseUrl);
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { StorageState = signedIn, Locale = "en-US" });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(DashboardFixture.Deadline);
        await page.GotoAsync(baseUrl + "/");
        var row = page.Locator("[data-export=\"lake\"]");
        await Assertions.Expect(row.Locator("td.state")).ToHaveTextAsync("live", new() { Timeout = DashboardFixture.Deadline });
        await Assertions.Expect(row.Locator("td.lag")).ToHaveTextAsync("in step", new() { Timeout = DashboardFixture.Deadline });
        await Assertions.Expect(row).ToContainTextAsync("db=grid", new() { Timeout = DashboardFixture.Deadline });
        await Assertions.Expect(row.Locator("td.success")).ToContainTextAsync(" ago", new() { Timeout = DashboardFixture.Deadline });

        await influx.Process.KillAsync();
        await ExportData.PublishAsync(client, "plant1", "flow", "l", 100, 100);
        await Assertions.Expect(row.Locator("td.state")).ToHaveTextAsync("retrying", new() { Timeout = DashboardFixture.Deadline });
        await Assertions.Expect(row.Locator("td.lag")).ToContainTextAsync("100 points", new() { Timeout = DashboardFixture.Deadline });
        await Assertions.Expect(row.Locator("td.error")).ToContainTextAsync("cannot be reached", new() { Timeout = DashboardFixture.Deadline });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, "home-exports.png"), FullPage = true });
    }
}
