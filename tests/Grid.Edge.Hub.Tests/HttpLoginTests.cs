using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grid.Edge.Hub.Security.Login;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;

namespace Grid.Edge.Hub.Tests;

/// <summary>The admin's login over real HTTP: first run, sessions, the CLI's password and tokens, throttling.</summary>
public sealed class HttpLoginTests
{
    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object body, CookieContainer? cookies = null, Uri? hub = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (cookies?.GetCookies(hub!)[WebAccess.RequestTokenCookie] is { } token)
            request.Headers.Add(WebAccess.RequestTokenHeader, token.Value);
        return await client.SendAsync(request);
    }

    /// <summary>A browser: fetches the login page (its cookies) and signs in with the password.</summary>
    private static async Task<(HttpClient Client, CookieContainer Cookies, HttpResponseMessage Login)> BrowserSignInAsync(InProcessHub hub, string password)
    {
        var cookies = new CookieContainer();
        var client = hub.NewClient(cookies);
        (await client.GetAsync("/login")).EnsureSuccessStatusCode();
        var login = await PostAsync(client, "/api/session/login", new { password }, cookies, hub.BaseAddress);
        return (client, cookies, login);
    }

    [Fact]
    public async Task A_session_reads_and_changes_until_the_password_is_changed_with_the_cli_which_closes_it()
    {
        using var data = new TempDirectory();
        await using var hub = await InProcessHub.StartAsync(dataDir: data.Path);
        var (browser, cookies, login) = await BrowserSignInAsync(hub, InProcessHub.AdminPassword);
        using var _ = browser;
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var me = (await login.Content.ReadFromJsonAsync<SessionResponse>(Json.Options))!;
        Assert.Equal(("admin", "session", false), (me.User, me.Via, me.GuestView));

        // The session cookie: HttpOnly, SameSite=Strict, and (over plain HTTP) not marked Secure.
        var setCookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("grid-session=", StringComparison.Ordinal));
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", string.Empty, StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/series")).StatusCode);
        using (var checkpoint = await PostAsync(browser, "/api/storage/checkpoint", new { }, cookies, hub.BaseAddress))
            Assert.Equal(HttpStatusCode.NoContent, checkpoint.StatusCode);

        var (exit, output) = await HubProcess.RunToEndAsync("a new password", "admin", "set-password", "--password-stdin", "--data-dir", data.Path);
        Assert.True(exit == 0, output);
        Assert.Contains("sessions signed in before are closed", output, StringComparison.Ordinal);

        using (var closed = await browser.GetAsync("/api/series"))
            Assert.Equal(HttpStatusCode.Unauthorized, closed.StatusCode);
        using (var oldPassword = (await BrowserSignInAsync(hub, InProcessHub.AdminPassword)).Login)
            Assert.Equal(HttpStatusCode.Unauthorized, oldPassword.StatusCode);
        var (again, _, newLogin) = await BrowserSignInAsync(hub, "a new password");
        using var __ = again;
        Assert.Equal(HttpStatusCode.OK, newLogin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/series")).StatusCode);

        // Logging out ends the session too.
        var cookiesAgain = new CookieContainer();
        using var third = hub.NewClient(cookiesAgain);
        (await third.GetAsync("/login")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(third, "/api/session/login", new { password = "a new password" }, cookiesAgain, hub.BaseAddress)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await third.GetAsync("/api/series")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync(third, "/api/session/logout", new { }, cookiesAgain, hub.BaseAddress)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await third.GetAsync("/api/series")).StatusCode);
    }

    [Fact]
    public async Task Api_tokens_from_the_cli_act_as_the_admin_until_revoked()
    {
        using var data = new TempDirectory();
        await using var hub = await InProcessHub.StartAsync(dataDir: data.Path);
        var (exit, output) = await HubProcess.RunToEndAsync(null, "admin", "token", "create", "backup-script", "--data-dir", data.Path);
        Assert.True(exit == 0, output);
        var token = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith(AdminAccount.TokenPrefix, StringComparison.Ordinal));
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(AdminAccount.PathIn(data.Path)), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(AdminAccount.PathIn(data.Path)));

        using var script = hub.NewClient();
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await script.GetAsync("/api/series")).StatusCode);
        using (var checkpoint = await script.PostAsync("/api/storage/checkpoint", null)) // no antiforgery token: not a browser
            Assert.Equal(HttpStatusCode.NoContent, checkpoint.StatusCode);

        (exit, output) = await HubProcess.RunToEndAsync(null, "admin", "token", "revoke", "backup-script", "--data-dir", data.Path);
        Assert.True(exit == 0, output);
        using (var revoked = await script.GetAsync("/api/series"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
            Assert.Equal("Bearer", revoked.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Contains("admin token create", await revoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var guesser = hub.NewClient();
        guesser.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminAccount.TokenPrefix + "guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.PostAsync("/api/storage/checkpoint", null)).StatusCode);
        (exit, output) = await HubProcess.RunToEndAsync(null, "admin", "token", "revoke", "backup-script", "--data-dir", data.Path);
        Assert.Equal(2, exit);
        Assert.Contains("no API token 'backup-script'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_passwords_are_throttled_per_address()
    {
        await using var hub = await InProcessHub.StartAsync();
        for (var i = 0; i < FailedAttempts.MaxFailures; i++)
        {
            using var wrong = (await BrowserSignInAsync(hub, "not the password")).Login;
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("wrong password", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Locked out now, even with the right password.
        using var locked = (await BrowserSignInAsync(hub, InProcessHub.AdminPassword)).Login;
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.True(int.Parse(locked.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) > 60);
        Assert.Contains("too many wrong passwords", await locked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_first_run_the_hubs_own_machine_sets_the_admin_password_once()
    {
        using var data = new TempDirectory();
        await using var hub = await InProcessHub.StartAsync(dataDir: data.Path, withAdmin: false);
        var cookies = new CookieContainer();
        using var browser = hub.NewClient(cookies);
        using (var page = await browser.GetAsync("/"))
            Assert.Equal("/login?return=%2F", page.Headers.Location!.PathAndQuery);
        Assert.Equal("here", (await browser.GetFromJsonAsync<SessionResponse>("/api/session", Json.Options))!.Setup);
        using (var login = await PostAsync(browser, "/api/session/login", new { password = "whatever-it-is" }, cookies, hub.BaseAddress))
            Assert.Equal(HttpStatusCode.Conflict, login.StatusCode);

        using (var forged = await PostAsync(browser, "/api/session/setup", new { password = "chosen by a page" })) // no token: another site's page
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using (var tooShort = await PostAsync(browser, "/api/session/setup", new { password = "short" }, cookies, hub.BaseAddress))
            Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        Assert.False(File.Exists(AdminAccount.PathIn(data.Path)));

        using (var setup = await PostAsync(browser, "/api/session/setup", new { password = "first password" }, cookies, hub.BaseAddress))
        {
            Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
            Assert.Equal("admin", (await setup.Content.ReadFromJsonAsync<SessionResponse>(Json.Options))!.User);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/series")).StatusCode);
        using (var again = await PostAsync(browser, "/api/session/setup", new { password = "second password" }, cookies, hub.BaseAddress))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.True(AdminAccount.Read(AdminAccount.PathIn(data.Path)).HasAdmin);
        Assert.Equal(HttpStatusCode.OK, (await BrowserSignInAsync(hub, "first password")).Login.StatusCode);
    }
}
