using Grid.Edge.Hub.Testing;
using Grid.Edge.Hub.Tests.Support;
using Microsoft.Playwright;

namespace Grid.Edge.Hub.Tests.Dashboard;

/// <summary>The login as a person meets it, in Chromium, on a hub without the guest view.</summary>
public sealed class DashboardLoginTests : IAsyncLifetime
{
    private InProcessHub _hub = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    // Where the page is, asked again until it matches: waiting for a navigation event missed navigations that
    // committed while the test process was busy under load (the page was there; the wait never saw it go).
    private static Task AtAsync(IPage page, string url) => Assertions.Expect(page).ToHaveURLAsync(url);

    private string BaseUrl => _hub.BaseAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(DashboardFixture.Deadline);
        _hub = await InProcessHub.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = DashboardFixture.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _hub.DisposeAsync();
    }

    [Fact]
    public async Task A_page_sends_a_visitor_to_the_login_page_back_after_logging_in_shows_who_and_logs_out()
    {
        await using var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(DashboardFixture.Deadline);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        // What the page went through, for the failure message: a wait that times out says only what it waited for.
        var trail = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) trail.Enqueue("at " + frame.Url); };
        page.Response += (_, response) => { if (response.Url.Contains("/api/session", StringComparison.Ordinal)) trail.Enqueue($"{response.Request.Method} {response.Url} -> {response.Status}"); };

        await page.GotoAsync(BaseUrl + "/alerts");
        await AtAsync(page, BaseUrl + "/login?return=%2Falerts");
        await page.FillAsync("#password", "not the password");
        await page.ClickAsync("#login-submit");
        await Assertions.Expect(page.Locator("#login-error")).ToHaveTextAsync("wrong password");
        await Assertions.Expect(page.Locator("#guest")).ToBeHiddenAsync();

        await page.FillAsync("#password", InProcessHub.AdminPassword);
        await page.ClickAsync("#login-submit");
        await AtAsync(page, BaseUrl + "/alerts");
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("admin");
        await Assertions.Expect(page.Locator("#rules")).ToContainTextAsync("coolant-critical");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, "login-signed-in.png") });

        await page.ClickAsync("#logout");
        try
        {
            await AtAsync(page, BaseUrl + "/login");
        }
        catch (PlaywrightException timeout)
        {
            throw new TimeoutException($"logging out did not reach the login page; the page went: {string.Join(" | ", trail)}", timeout);
        }
        await Assertions.Expect(page.Locator("#password")).ToBeVisibleAsync();
        await page.GotoAsync(BaseUrl + "/weather");
        await AtAsync(page, BaseUrl + "/login?return=%2Fweather");
        await Assertions.Expect(page.Locator("#password")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotFolder, "login.png") });
        Assert.Empty(errors);
    }
}
