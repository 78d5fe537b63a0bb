using System.Net;
using System.Security.Claims;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;

namespace Grid.Edge.Hub.Security.Login;

/// <summary>Marks a state-changing endpoint that carries its own credential and no cookie (device pairing): no antiforgery check.</summary>
internal sealed record AntiforgeryExempt(string Why);

/// <summary>Any request needs the admin, except reads (GET, HEAD) while the guest view is on.</summary>
internal sealed class HubAccessRequirement : IAuthorizationRequirement;

internal sealed class HubAccessHandler(HubOptions options) : AuthorizationHandler<HubAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, HubAccessRequirement requirement)
    {
        if (context.User.Identity?.IsAuthenticated == true)
            context.Succeed(requirement);
        else if (options.GuestViewOn && context.Resource is HttpContext http && WebAccess.IsRead(http.Request.Method))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Who may use the hub's HTTP side (DESIGN.md section 6): the admin, signed in with a cookie (SameSite=Strict,
/// Secure over TLS, closed when the password changes) or with an API token; guests may read when the guest view is
/// on; the hub's own command line, over the control socket in the data folder, acts as the admin. Every
/// state-changing request from a browser session carries an antiforgery token (the pages send the XSRF-TOKEN cookie
/// back as a header), and only Host names of this machine are served (DNS rebinding).
/// </summary>
internal static class WebAccess
{
    public const string HubScheme = "grid";
    public const string CookieScheme = "grid-session";
    public const string TokenScheme = "grid-token";
    public const string AdminPolicy = "admin";
    public const string AdminName = "admin";
    public const string StampClaim = "grid.stamp";
    public const string TokenClaim = "grid.token";
    public const string RequestTokenCookie = "XSRF-TOKEN";
    public const string RequestTokenHeader = "X-XSRF-TOKEN";

    public static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    public static void AddServices(IServiceCollection services, HubOptions options)
    {
        services.AddSingleton(new AdminAccount(AdminAccount.PathIn(options.DataDir)));
        services.AddSingleton(sp => new FailedAttempts(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new HostAllowlist(HostAllowlist.Parse(options.AllowedHosts, out _), sp.GetRequiredService<TimeProvider>()));

        // Sessions and antiforgery tokens are sealed with keys kept beside the data (owner-only), so they outlive restarts.
        var keys = new DirectoryInfo(Path.Combine(options.DataDir, "keys"));
        try
        {
            if (!keys.Exists && !OperatingSystem.IsWindows())
                Directory.CreateDirectory(keys.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The store's own open reports an unusable data folder with the option to change.
        }

        services.AddDataProtection().PersistKeysToFileSystem(keys).SetApplicationName("Grid.Edge.Hub");
        services.AddAuthentication(HubScheme)
            .AddPolicyScheme(HubScheme, null, policy => policy.ForwardDefaultSelector = http =>
                Hosting.ControlSocket.IsControl(http) ? Hosting.ControlSocket.Scheme
                : http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? TokenScheme
                : CookieScheme)
            .AddCookie(CookieScheme, cookie =>
            {
                cookie.Cookie.Name = "grid-session";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.ExpireTimeSpan = TimeSpan.FromDays(14);
                cookie.SlidingExpiration = true;
                cookie.LoginPath = "/login";
                cookie.ReturnUrlParameter = "return";
                cookie.Events.OnRedirectToLogin = context => Refuse(context, StatusCodes.Status401Unauthorized, "log in first (the dashboard's /login page), or send an API token: Authorization: Bearer <token> (made with 'Grid.Edge.Hub admin token create <name>')");
                cookie.Events.OnRedirectToAccessDenied = context => Refuse(context, StatusCodes.Status403Forbidden, "this needs the admin");
                cookie.Events.OnValidatePrincipal = async context =>
                {
                    // A password change (or a removed admin) gives a new stamp: sessions of the old one end here.
                    var stamp = context.HttpContext.RequestServices.GetRequiredService<AdminAccount>().Stamp;
                    if (stamp is null || context.Principal?.FindFirstValue(StampClaim) != stamp)
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieScheme);
                    }
                };
            })
            .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(TokenScheme, null)
            .AddScheme<AuthenticationSchemeOptions, Hosting.ControlSocketHandler>(Hosting.ControlSocket.Scheme, null);
        services.AddSingleton<IAuthorizationHandler, HubAccessHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser())
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().AddRequirements(new HubAccessRequirement()).Build());
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.HeaderName = RequestTokenHeader;
            antiforgery.Cookie.Name = "grid-antiforgery";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
    }

    /// <summary>Refuses foreign Host names before anything else runs.</summary>
    public static void UseHostAllowlist(WebApplication app) =>
        app.Use(async (http, next) =>
        {
            if (http.RequestServices.GetRequiredService<HostAllowlist>().IsAllowed(http.Request.Host.Host))
            {
                await next(http);
                return;
            }

            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new ErrorResponse(
                $"this hub does not answer to the name '{http.Request.Host.Host}': open it by its address or host name, or add the name with --allowed-hosts"));
        });

    /// <summary>Sign-in, then the access rules, then the antiforgery check of state-changing requests.</summary>
    public static void UseLogin(WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(async (http, next) =>
        {
            if (!IsRead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method)
                && http.GetEndpoint()?.Metadata.GetMetadata<AntiforgeryExempt>() is null
                && http.User.Identity?.AuthenticationType is not (TokenScheme or Hosting.ControlSocket.Scheme)
                && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
            {
                http.Response.StatusCode = StatusCodes.Status400BadRequest;
                await http.Response.WriteAsJsonAsync(new ErrorResponse(
                    $"the request has no valid antiforgery token: reload the page and try again (a page sends the {RequestTokenCookie} cookie back as the {RequestTokenHeader} header; scripts use an API token instead)"));
                return;
            }

            await next(http);
        });
    }

    /// <summary>Gives the page a fresh request token in a cookie its scripts can read (and send back as a header).</summary>
    public static void IssueRequestToken(HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        http.Response.Cookies.Append(RequestTokenCookie, tokens.RequestToken!, new CookieOptions
        {
            HttpOnly = false,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
        });
    }

    /// <summary>Signs the admin in with a session cookie bound to the current credential stamp.</summary>
    public static async Task SignInAsync(HttpContext http, AdminAccount account)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, AdminName), new Claim(StampClaim, account.Stamp ?? string.Empty)], CookieScheme);
        var principal = new ClaimsPrincipal(identity);
        await http.SignInAsync(CookieScheme, principal, new AuthenticationProperties { IsPersistent = true });
        http.User = principal; // the request token issued next belongs to the signed-in admin
        IssueRequestToken(http);
    }

    public static bool IsLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);

    private static async Task Refuse(RedirectContext<CookieAuthenticationOptions> context, int status, string message)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/api") || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/metrics") || !IsRead(context.Request.Method))
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new ErrorResponse(message));
            return;
        }

        context.Response.Redirect(context.RedirectUri);
    }
}
