using System.Security.Claims;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Microsoft.AspNetCore.Authentication;

namespace Grid.Edge.Hub.Security.Login;

internal sealed record LoginRequest(string? Password);

/// <param name="User">The signed-in user (admin), or null for a guest.</param>
/// <param name="Via">How: "session" (cookie) or "token".</param>
/// <param name="GuestView">Whether visitors who are not signed in may read.</param>
/// <param name="Setup">While no admin exists: "here" when this request may set the first password (the hub's own machine), else "elsewhere".</param>
internal sealed record SessionResponse(string? User, string? Via, bool GuestView, string? Setup);

/// <summary>The login page, sign-in and sign-out, and the first-run page that sets the admin password from the hub's own machine.</summary>
internal static class LoginEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/login", (HttpContext http) =>
            {
                WebAccess.IssueRequestToken(http);
                var page = Path.Combine(Dashboard.DashboardEndpoints.Folder, "login.html");
                return File.Exists(page)
                    ? Results.File(page, "text/html; charset=utf-8")
                    : Results.Text("The dashboards were not built (the hub needs Node.js and npm at build time). Sign in with an API token: Grid.Edge.Hub admin token create <name>.", statusCode: StatusCodes.Status503ServiceUnavailable);
            })
            .AllowAnonymous()
            .ExcludeFromDescription();

        var session = app.MapGroup("/api/session");
        session.MapGet(string.Empty, (HttpContext http, AdminAccount account, HubOptions options) =>
            {
                WebAccess.IssueRequestToken(http);
                return Describe(http, account, options);
            })
            .AllowAnonymous()
            .WithSummary("Who is signed in (admin by session or token, or a guest), whether guests may read, and whether the admin password is still to be set.");

        session.MapPost("/login", async (LoginRequest? request, HttpContext http, AdminAccount account, FailedAttempts failures, HubOptions options) =>
            {
                var remote = http.Connection.RemoteIpAddress;
                if (failures.LockedOutFor(remote) is { } wait)
                {
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return Results.Json(new ErrorResponse($"too many wrong passwords from this address; try again in {Math.Ceiling(wait.TotalMinutes)} min"), statusCode: StatusCodes.Status429TooManyRequests);
                }

                if (!account.HasAdmin)
                    return Results.Json(new ErrorResponse("no admin password is set yet: open this page on the hub's own machine, or run 'Grid.Edge.Hub admin set-password' there"), statusCode: StatusCodes.Status409Conflict);
                if (string.IsNullOrEmpty(request?.Password) || request.Password.Length > 1024 || !account.VerifyPassword(request.Password))
                {
                    failures.Failed(remote);
                    return Results.Json(new ErrorResponse("wrong password"), statusCode: StatusCodes.Status401Unauthorized);
                }

                failures.Succeeded(remote);
                await WebAccess.SignInAsync(http, account);
                return Results.Ok(Describe(http, account, options));
            })
            .AllowAnonymous() // the password is the credential; the antiforgery token is still checked
            .Produces<SessionResponse>()
            .WithSummary("Signs the admin in with the password: {\"password\": \"...\"}. Wrong passwords are limited per address.");

        session.MapPost("/setup", async (LoginRequest? request, HttpContext http, AdminAccount account, HubOptions options) =>
            {
                if (!WebAccess.IsLoopback(http))
                    return Results.Json(new ErrorResponse("the first admin password is set on the hub's own machine (http://localhost), or with 'Grid.Edge.Hub admin set-password'"), statusCode: StatusCodes.Status403Forbidden);
                if (request?.Password is not { Length: >= AdminAccount.MinPasswordLength and <= 1024 } password)
                    return Results.BadRequest(new ErrorResponse($"choose a password of at least {AdminAccount.MinPasswordLength} characters"));
                if (!AdminAccount.TrySetFirstPassword(account.Path, password))
                    return Results.Json(new ErrorResponse("an admin password is set already; sign in, or change it with 'Grid.Edge.Hub admin set-password'"), statusCode: StatusCodes.Status409Conflict);
                await WebAccess.SignInAsync(http, account);
                return Results.Ok(Describe(http, account, options));
            })
            .AllowAnonymous() // only while no admin exists, only from this machine; the antiforgery token is still checked
            .Produces<SessionResponse>()
            .WithSummary("First run: sets the admin password from the hub's own machine while none is set, and signs in.");

        session.MapPost("/logout", async (HttpContext http) =>
            {
                await http.SignOutAsync(WebAccess.CookieScheme);
                return Results.NoContent();
            })
            .WithSummary("Ends this browser's session.");
    }

    private static SessionResponse Describe(HttpContext http, AdminAccount account, HubOptions options)
    {
        var user = http.User.Identity?.IsAuthenticated == true ? http.User.FindFirstValue(ClaimTypes.Name) : null;
        var via = user is null ? null : http.User.Identity!.AuthenticationType == WebAccess.TokenScheme ? "token" : "session";
        var setup = account.HasAdmin ? null : WebAccess.IsLoopback(http) ? "here" : "elsewhere";
        return new SessionResponse(user, via, options.GuestViewOn, setup);
    }
}
