using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Grid.Edge.Hub.Security.Login;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Who may do what over HTTP, proven over every route the hub maps (read from its endpoint data source, so a route
/// added later is covered without touching this test): state-changing routes need the admin and, from a browser
/// session, the antiforgery token; reads need the admin unless the guest view is on.
/// </summary>
public sealed class HttpAccessTests
{
    private const string Device = "route-dev";

    /// <summary>
    /// State-changing routes that take requests without a login, and why. Everything else must refuse them.
    /// </summary>
    private static readonly Dictionary<string, string> OpenStateChanging = new(StringComparer.Ordinal)
    {
        ["POST /api/pairing/redeem"] = "a device's agent redeems its one-time pairing code: the code is its credential (failures are limited per address); no cookie is involved, so no antiforgery token either",
        ["POST /api/session/login"] = "signing in: the password is the credential; the antiforgery token is still required",
        ["POST /api/session/setup"] = "the first-run page: only from the hub's own machine and only while no admin exists; the antiforgery token is still required",
    };

    /// <summary>Reads that answer without a login whatever the guest view says, and why.</summary>
    private static readonly Dictionary<string, string> OpenReads = new(StringComparer.Ordinal)
    {
        ["GET /api/health"] = "monitoring: without a login it tells only status, version and uptime",
        ["GET /api/session"] = "tells the login page whether anyone is signed in (and gives it its antiforgery token)",
    };

    /// <summary>Reads that stay with the admin even when guests may read, and why.</summary>
    private static readonly Dictionary<string, string> AdminReads = new(StringComparer.Ordinal)
    {
        ["GET /api/pairing/codes"] = "managing devices, not a reading",
    };

    private static readonly Dictionary<string, string> SampleValues = new(StringComparer.Ordinal)
    {
        ["device"] = Device,
        ["metric"] = "rain",
        ["rule"] = "coolant-critical",
        ["item"] = "oil",
        ["documentName"] = "v1",
        ["hub"] = "aaaaaaaaaaaaaaaaaaaaaaaaaa",
        ["name"] = "lake",
    };

    private static List<(string Method, string Path, string Key, RouteEndpoint Endpoint)> Routes(InProcessHub hub) =>
        hub.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m =>
            {
                var path = "/" + string.Join('/', e.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
                {
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                    Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter => SampleValues.TryGetValue(parameter.Name, out var value) ? value : throw new InvalidOperationException($"no sample value for route parameter {{{parameter.Name}}} of {e.RoutePattern.RawText}: add one to SampleValues"),
                    _ => string.Empty,
                }))));
                return (m, path, $"{m} {e.RoutePattern.RawText?.TrimEnd('/')}", e);
            }))
            .ToList();

    private static bool IsStateChanging(string method) => method is not ("GET" or "HEAD" or "OPTIONS");

    /// <summary>
    /// Everything the hub keeps: every file of its data folder (names, sizes and contents) and the store's counters.
    /// Equal before and after a refused request: it changed nothing.
    /// </summary>
    private static string Fingerprint(InProcessHub hub)
    {
        var files = Directory.EnumerateFiles(hub.DataDir, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("-shm", StringComparison.Ordinal) && !f.Contains("/keys/", StringComparison.Ordinal) && Path.GetFileName(f) != "control.sock") // a socket has no contents
            .Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(hub.DataDir, f)}:{Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}");
        var stats = hub.Services.GetRequiredService<ChunkedTimeSeriesStore>().GetStatistics();
        return string.Join('\n', files) + $"\ncommits={stats.Commits} checkpoints={stats.Checkpoints} points={stats.PointCount}";
    }

    private static HttpRequestMessage Request(string method, string path, object? body = null, string? requestToken = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (IsStateChanging(method))
            request.Content = JsonContent.Create(body ?? new { });
        if (requestToken is not null)
            request.Headers.Add(WebAccess.RequestTokenHeader, requestToken);
        return request;
    }

    private static object? BodyFor(string key) => key switch
    {
        "POST /api/session/login" or "POST /api/session/setup" => new { password = InProcessHub.AdminPassword },
        "POST /api/vehicle/{device}/odometer" => new { km = 1000 },
        "PUT /api/vehicle/{device}/service/{item}" => new { name = "Engine oil", intervalKm = 10_000 },
        "POST /api/pairing/redeem" => new { code = "AAAA-AAAA", device = "not-paired" },
        "POST /api/grid" => new { name = "home" },
        "POST /api/grid/invitations" => new { minutes = 5 },
        "POST /api/grid/join" => new { code = "grid1-notacode" },
        _ => null,
    };

    /// <summary>A browser session: the login page's cookies, then a sign-in with the password and its request token.</summary>
    private static async Task<(HttpClient Client, CookieContainer Cookies)> SignInAsync(InProcessHub hub)
    {
        var cookies = new CookieContainer();
        var client = hub.NewClient(cookies);
        (await client.GetAsync("/login")).EnsureSuccessStatusCode();
        using var login = await client.SendAsync(Request("POST", "/api/session/login", new { password = InProcessHub.AdminPassword }, RequestToken(hub, cookies)));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (client, cookies);
    }

    private static string RequestToken(InProcessHub hub, CookieContainer cookies) =>
        cookies.GetCookies(hub.BaseAddress)[WebAccess.RequestTokenCookie]?.Value ?? throw new InvalidOperationException("no request token cookie");

    /// <summary>The device, its rain series and an active alert exist, so a request that got through would change something.</summary>
    private static async Task<InProcessHub> StartWithStateAsync(TempDirectory data, bool guestView)
    {
        await File.WriteAllTextAsync(Path.Combine(data.Path, "alert-rules.json"), """[ { "Id": "coolant-critical", "ForSeconds": 0 } ]""");
        var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:GuestView"] = guestView ? "true" : "false" }, data.Path);
        using var device = await TestMqtt.ConnectAsync(hub.Mqtt);
        Assert.True((await device.PublishAsync($"grid/{Device}/rain", "0.2")).IsSuccess);
        Assert.True((await device.PublishAsync($"grid/{Device}/coolant_temp", "118")).IsSuccess);
        await Eventually.WaitForAsync(() => hub.GetAsync<Api.AlertsResponse>("/api/alerts"), a => a!.Active.Any(x => x.Subject == Device), "the coolant alert");
        await Eventually.WaitForAsync(() => hub.GetAsync<Api.HealthResponse>("/api/health"), h => h!.Derived.PendingInputs == 0, "the derived rain totals");

        // The alert's retained message reaches retained.json up to a second after it fired.
        var retained = Path.Combine(data.Path, "retained.json");
        await Eventually.WaitForAsync(
            () => Task.FromResult(File.Exists(retained) && File.ReadAllText(retained).Contains($"grid/alerts/coolant-critical/{Device}", StringComparison.Ordinal)),
            saved => saved,
            "the alert's retained message to be saved");

        // Alert and derived state are written behind the readings: settled when two looks at the folder agree.
        var last = string.Empty;
        await Eventually.WaitForAsync(() => Task.FromResult(Fingerprint(hub)), now => now == Interlocked.Exchange(ref last, now), "the data folder to settle");
        return hub;
    }

    [Fact]
    public async Task Every_state_changing_route_refuses_requests_without_login_and_browser_sessions_without_the_antiforgery_token()
    {
        using var data = new TempDirectory();
        await using var hub = await StartWithStateAsync(data, guestView: true); // guests may read, never change
        var routes = Routes(hub).Where(r => IsStateChanging(r.Method)).ToList();
        Assert.Contains(routes, r => r.Key == "POST /api/storage/checkpoint");
        Assert.Contains(routes, r => r.Key == "DELETE /api/vehicle/{device}/service/{item}");
        Assert.All(OpenStateChanging.Keys, key => Assert.Contains(routes, r => r.Key == key)); // no stale exceptions

        using var anonymous = hub.NewClient();
        var (session, cookies) = await SignInAsync(hub);
        using var _ = session;
        var before = Fingerprint(hub);
        foreach (var (method, path, key, endpoint) in routes)
        {
            // 1. Nobody signed in (a page of another site, a machine on the LAN).
            using (var response = await anonymous.SendAsync(Request(method, path, BodyFor(key))))
            {
                var status = (int)response.StatusCode;
                if (key == "POST /api/pairing/redeem")
                    Assert.True(status == 400, $"{key}: a wrong code is refused, got {status}");
                else if (OpenStateChanging.ContainsKey(key))
                    Assert.True(status == 400, $"{key} without an antiforgery token: expected 400, got {status}");
                else
                    Assert.True(status is 401 or 403, $"{key} without login: expected 401/403, got {status}");
                Assert.True(endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null || OpenStateChanging.ContainsKey(key), $"{key} allows anonymous requests but is not in the justified list");
            }

            Assert.Equal(before, Fingerprint(hub));

            // 2. The admin's browser session, but the request did not come from one of the hub's pages (no token).
            if (endpoint.Metadata.GetMetadata<AntiforgeryExempt>() is null)
            {
                using var response = await session.SendAsync(Request(method, path, BodyFor(key)));
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{key} from a session without the antiforgery token: expected 400, got {(int)response.StatusCode}");
                Assert.Contains("antiforgery", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                Assert.Equal(before, Fingerprint(hub));
            }
            else
            {
                Assert.True(OpenStateChanging.ContainsKey(key), $"{key} skips the antiforgery check but is not in the justified list");
            }
        }

        // The same requests with the session and its token get past both guards (what refused them above).
        foreach (var (method, path, key, _) in routes.Where(r => r.Key != "POST /api/session/logout").Append(routes.Single(r => r.Key == "POST /api/session/logout")))
        {
            using var response = await session.SendAsync(Request(method, path, BodyFor(key), RequestToken(hub, cookies)));
            var status = (int)response.StatusCode;
            var expected = key switch
            {
                "POST /api/session/setup" => 409, // an admin exists
                "POST /api/pairing/redeem" => 400, // the code is wrong
                "DELETE /api/pairing/devices/{device}" => 404, // the device was never paired
                "POST /api/grid" => 201, // the grid is founded
                "DELETE /api/grid/members/{hub}" => 404, // the sample hub is not a member (routes run in the order mapped: the grid exists)
                "POST /api/grid/invitations" => 201, // a code for the grid founded above
                "POST /api/grid/join" => 400, // the sample code is not one
                "POST /api/exports/{name}/backfill" => 404, // this hub has no exports
                _ => 200,
            };
            Assert.True(status == expected || (expected == 200 && status is 204), $"{key} with session and token: expected {expected}, got {status}: {await response.Content.ReadAsStringAsync()}");
        }

        Assert.NotEqual(before, Fingerprint(hub));
    }

    /// <summary>Answered by the route itself: 200, or its own 400 for the sample parameters (e.g. a step it requires).</summary>
    private static bool PastTheGuards(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.OK || (response.StatusCode == HttpStatusCode.BadRequest && response.RequestMessage!.RequestUri!.AbsolutePath.EndsWith("/points", StringComparison.Ordinal));

    [Fact]
    public async Task Reads_need_the_admin_unless_the_guest_view_is_on()
    {
        using var closedData = new TempDirectory();
        await using var closed = await StartWithStateAsync(closedData, guestView: false);
        using var openData = new TempDirectory();
        await using var open = await StartWithStateAsync(openData, guestView: true);
        var reads = Routes(closed).Where(r => r.Method == "GET" && r.Path.StartsWith("/api/", StringComparison.Ordinal)).ToList();
        Assert.Contains(reads, r => r.Key == "GET /api/series/{device}/{metric}/points");
        Assert.Contains(reads, r => r.Key == "GET /api/live");

        using var guestOfClosed = closed.NewClient();
        using var guestOfOpen = open.NewClient();
        foreach (var (_, path, key, _) in reads)
        {
            using var refused = await guestOfClosed.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            if (OpenReads.ContainsKey(key))
                Assert.True(refused.StatusCode == HttpStatusCode.OK, $"{key}: open to monitoring, got {(int)refused.StatusCode}");
            else
                Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{key} without login, guest view off: expected 401, got {(int)refused.StatusCode}");

            using var guest = await guestOfOpen.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            if (AdminReads.ContainsKey(key))
                Assert.True(guest.StatusCode == HttpStatusCode.Unauthorized, $"{key} is for the admin even with the guest view: got {(int)guest.StatusCode}");
            else
                Assert.True(PastTheGuards(guest), $"{key} as a guest with the guest view on: got {(int)guest.StatusCode}");

            // The admin's token reads everything either way.
            using var admin = await closed.Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(PastTheGuards(admin), $"{key} with the API token: got {(int)admin.StatusCode}");
        }

        // Pages send a visitor to the login page, and come back after it.
        using (var page = await guestOfClosed.GetAsync("/weather?device=x"))
        {
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Equal("/login?return=%2Fweather%3Fdevice%3Dx", page.Headers.Location!.PathAndQuery);
        }

        using (var page = await guestOfOpen.GetAsync("/weather"))
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        // Monitoring learns that the hub is up, nothing about it; a reader learns the rest.
        using var health = JsonDocument.Parse(await guestOfClosed.GetStringAsync("/api/health"));
        Assert.Equal(["status", "uptimeSeconds", "version"], health.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        using var full = JsonDocument.Parse(await guestOfOpen.GetStringAsync("/api/health"));
        Assert.True(full.RootElement.TryGetProperty("store", out _));
    }

    [Fact]
    public async Task A_foreign_host_name_is_refused_and_this_machines_names_and_configured_ones_are_served()
    {
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:AllowedHosts"] = "grid.home, 192.0.2.7" });
        async Task<(HttpStatusCode, string)> GetAsync(string host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/series");
            request.Headers.Host = host;
            using var response = await hub.Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var port = hub.BaseAddress.Port;
        foreach (var host in new[] { "attacker.example", $"attacker.example:{port}", "localhost.attacker.example", "127.0.0.1.nip.io", "grid.home.example" })
        {
            var (status, body) = await GetAsync(host);
            Assert.True(status == HttpStatusCode.BadRequest, $"Host {host}: expected 400, got {status}");
            Assert.Contains("does not answer to the name", body, StringComparison.Ordinal);
            Assert.Contains("--allowed-hosts", body, StringComparison.Ordinal);
        }

        foreach (var host in new[] { $"127.0.0.1:{port}", $"localhost:{port}", $"[::1]:{port}", "grid.home", $"GRID.HOME:{port}", "192.0.2.7", Dns.GetHostName(), Dns.GetHostName() + ".local" })
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(host)).Item1);

        // A POST with a foreign name stops before it can change anything, whatever it carries.
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/storage/checkpoint");
        post.Headers.Host = "attacker.example";
        var checkpoints = hub.Services.GetRequiredService<ChunkedTimeSeriesStore>().GetStatistics().Checkpoints;
        using (var refused = await hub.Http.SendAsync(post))
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(checkpoints, hub.Services.GetRequiredService<ChunkedTimeSeriesStore>().GetStatistics().Checkpoints);
    }

    [Fact]
    public async Task A_bad_allowed_hosts_setting_stops_the_hub_with_a_sentence()
    {
        var (exit, output) = await HubProcess.RunToEndAsync(null, "--allowed-hosts", "grid.home,host/x", "--http-port", "0", "--grid-port", "0", "--mqtt-port", "0");
        Assert.Equal(2, exit);
        Assert.Contains("'host/x' is not a host name or IP address", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }
}
