using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Grid.Edge.Hub.Security.Login;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c> for scripts: a token made with <c>admin token create</c> acts as the admin.
/// A browser never sends it by itself, so bearer requests need no antiforgery token.
/// </summary>
internal sealed class ApiTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AdminAccount account)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(AuthenticateResult.NoResult());
        var name = account.VerifyToken(header["Bearer ".Length..].Trim());
        if (name is null)
            return Task.FromResult(AuthenticateResult.Fail("unknown API token"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, WebAccess.AdminName), new Claim(WebAccess.TokenClaim, name)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Response.WriteAsJsonAsync(new Api.ErrorResponse("the API token is not valid (revoked, or mistyped); make one with 'Grid.Edge.Hub admin token create <name>'"));
    }
}
