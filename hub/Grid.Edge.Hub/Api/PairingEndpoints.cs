using System.Net;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Mqtt;
using Grid.Edge.Hub.Security.Pairing;

namespace Grid.Edge.Hub.Api;

internal sealed record PairingCodeRequest(string? Device, double? Minutes);

internal sealed record PairingCodeResponse(string Code, string? Device, DateTimeOffset ExpiresAt);

internal sealed record PendingCodeResponse(string? Device, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

internal sealed record RedeemRequest(string? Code, string? Device);

internal sealed record RedeemResponse(string Device, string User, string Password, int MqttPort);

/// <summary>
/// Device pairing over HTTP. Creating codes and revoking devices is for the admin, and by default only from the
/// hub's own machine (or from anywhere with --pairing-from-network). Redeeming needs no login: the code is the
/// secret, and failed attempts are limited per address.
/// </summary>
internal static class PairingEndpoints
{
    public static void Map(WebApplication app)
    {
        var pairing = app.MapGroup("/api/pairing");

        pairing.MapPost("/codes", (PairingCodeRequest? request, HttpContext http, DevicePairing devices, HubOptions options) =>
            {
                if (Refused(http, options) is { } refused)
                    return refused;
                var minutes = request?.Minutes ?? options.PairingCodeMinutes;
                if (minutes is <= 0 or > 10_080)
                    return Results.BadRequest(new ErrorResponse("minutes must be more than 0 and at most 10080 (a week)"));
                if (request?.Device is { } device && !Security.UsersFile.IsValidUserName(device))
                    return Results.BadRequest(new ErrorResponse($"device id '{device}' must be 1-64 of A-Z a-z 0-9 _ . -"));
                var (code, entry) = devices.CreateCode(request?.Device, TimeSpan.FromMinutes(minutes));
                return Results.Ok(new PairingCodeResponse(code, entry.Device, entry.ExpiresAt));
            })
            .Produces<PairingCodeResponse>()
            .WithSummary("Creates a one-time pairing code (optionally bound to a device id). Only from the hub's machine unless --pairing-from-network.");

        pairing.MapGet("/codes", (HttpContext http, DevicePairing devices, HubOptions options) =>
                Refused(http, options) ?? Results.Ok(devices.Codes.Pending().Select(c => new PendingCodeResponse(c.Device, c.CreatedAt, c.ExpiresAt)).ToList()))
            .RequireAuthorization(Security.Login.WebAccess.AdminPolicy) // managing devices, not a reading: never for guests
            .WithSummary("Pairing codes not yet used or expired (the codes themselves are never shown again).");

        pairing.MapPost("/redeem", (RedeemRequest? request, HttpContext http, DevicePairing devices, HubEndpoints endpoints) =>
            {
                var remote = MqttConnectionPolicy.RemoteAddress(new IPEndPoint(http.Connection.RemoteIpAddress ?? IPAddress.None, 0));
                if (devices.IsLockedOut(remote))
                {
                    http.Response.Headers.RetryAfter = "600";
                    return Results.Json(new ErrorResponse("too many wrong pairing codes from this address; wait 10 minutes"), statusCode: StatusCodes.Status429TooManyRequests);
                }

                if (string.IsNullOrWhiteSpace(request?.Code))
                    return Results.BadRequest(new ErrorResponse("give the pairing code: {\"code\":\"XXXX-XXXX\",\"device\":\"<device id>\"}"));
                var (paired, error) = devices.Redeem(request.Code, string.IsNullOrWhiteSpace(request.Device) ? null : request.Device, remote);
                return paired is null
                    ? Results.BadRequest(new ErrorResponse(error!))
                    : Results.Ok(new RedeemResponse(paired.Device, paired.User, paired.Password, endpoints.Mqtt?.Port ?? 1883));
            })
            .AllowAnonymous()
            .WithMetadata(new Security.Login.AntiforgeryExempt("the device's agent sends the code, not a browser session"))
            .Produces<RedeemResponse>()
            .WithSummary("Exchanges a pairing code for the device's MQTT credentials (once). Needs no login: the code is the credential.");

        pairing.MapDelete("/devices/{device}", (string device, HttpContext http, DevicePairing devices, HubOptions options) =>
                Refused(http, options) ?? (devices.Revoke(device) ? Results.NoContent() : Results.NotFound(new ErrorResponse($"device '{device}' has no credentials"))))
            .WithSummary("Revokes a device's credentials; its connections are closed and it is refused from then on.");
    }

    private static IResult? Refused(HttpContext http, HubOptions options)
    {
        var remote = http.Connection.RemoteIpAddress;
        if (options.PairingFromNetwork || (remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote)))
            return null;
        return Results.Json(
            new ErrorResponse("pairing is managed from the hub's own machine (open the dashboard there, or run 'Grid.Edge.Hub pair create'); start the hub with --pairing-from-network to allow it from here"),
            statusCode: StatusCodes.Status403Forbidden);
    }
}
