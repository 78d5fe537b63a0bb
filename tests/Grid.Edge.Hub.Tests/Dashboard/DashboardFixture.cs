using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.DependencyInjection;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;
using Microsoft.Playwright;

namespace Grid.Edge.Hub.Tests.Dashboard;

/// <summary>A hub in demo mode and a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>One generous deadline for every browser wait: page actions and every Expect assertion (Playwright's is 5 s).</summary>
    public const float Deadline = 60_000;

    private IPlaywright? _playwright;

    internal InProcessHub Hub { get; private set; } = null!;

    private readonly Grid.Edge.Testing.TempDirectory _data = new();

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl => Hub.Http.BaseAddress!.ToString().TrimEnd('/');

    /// <summary>Screenshots land in test-output/dashboard at the repository root.</summary>
    public static string ScreenshotFolder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grid.Edge.sln")))
                dir = dir.Parent;
            var folder = Path.Combine(dir?.FullName ?? Path.GetTempPath(), "test-output", "dashboard");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(Deadline);
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (tests/run-tests.sh does).");
        // Alerts without waiting times, so the pages can be shown one firing at once.
        await File.WriteAllTextAsync(Path.Combine(_data.Path, "alert-rules.json"), """[ { "Id": "coolant-critical", "ForSeconds": 0 } ]""");
        // The hub as the demo runs it: its settings and its devices.
        Hub = await InProcessHub.StartAsync(new Dictionary<string, string?>(Grid.Edge.Demo.DemoSetup.Defaults()), _data.Path, replace: services => Grid.Edge.Demo.DemoSetup.AddServices(services, 7));
        // Both demo agents put their history through their own outboxes; the demo says when the hub has all of it.
        var demo = Hub.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<Grid.Edge.Demo.DemoDevices>().Single();
        await demo.HistoryDelivered.WaitAsync(TimeSpan.FromSeconds(120));
        // ... and the derived weather (forecast, totals) is worked through before the pages are opened.
        var derivedBy = DateTime.UtcNow.AddSeconds(120);
        while ((await Hub.GetAsync<Grid.Edge.Hub.Api.HealthResponse>("/api/health"))!.Derived.PendingInputs > 0)
        {
            if (DateTime.UtcNow > derivedBy)
                throw new TimeoutException("the hub did not finish deriving the demo's weather history");
            await Task.Delay(100);
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        SignedIn = await SignInThroughTheLoginPageAsync(Browser, BaseUrl);
    }

    /// <summary>The admin's browser state (session and antiforgery cookies) after logging in through the login page.</summary>
    public string SignedIn { get; private set; } = null!;

    /// <summary>Logs in as a person would: the login page, the password, and back to the page asked for.</summary>
    public static async Task<string> SignInThroughTheLoginPageAsync(IBrowser browser, string baseUrl)
    {
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(baseUrl + "/login?return=%2Falerts");
        await page.FillAsync("#password", InProcessHub.AdminPassword);
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page).ToHaveURLAsync(baseUrl + "/alerts"); // asked until it matches: no navigation event to miss
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("admin");
        return await context.StorageStateAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        _playwright?.Dispose();
        await Hub.DisposeAsync();
        _data.Dispose();
    }
}
