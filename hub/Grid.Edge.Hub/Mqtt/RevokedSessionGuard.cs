using Grid.Edge.Hub.Security;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Closes the connections of users whose credentials were removed or changed (a new password, or a device made a
/// service or back), within about a second: each connection keeps the users-file entry it was verified against, and
/// any other entry now means its credentials are no longer the ones it proved. The identity is marked revoked first,
/// so nothing it sends meanwhile (nor its will) is delivered.
/// </summary>
internal sealed class RevokedSessionGuard(MqttServer server, MqttUserDirectory users, ILogger<RevokedSessionGuard> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly Hosting.ServiceFaults _faults = new(logger, TimeProvider.System);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!server.IsStarted)
                    continue;
                try
                {
                    await CloseRevokedAsync();
                }
                catch (Exception e) when (_faults.Outlive(e, "to close the sessions of users whose credentials changed"))
                {
                    // Tried again at the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CloseRevokedAsync()
    {
        foreach (var client in await server.GetClientsAsync())
        {
            var identity = ClientIdentity.Of(client.Session.Items);
            if (identity.Kind is not (ClientKind.Device or ClientKind.Service))
                continue;
            var current = users.EntryOf(identity.User!);
            if (current == identity.Credential)
                continue;
            identity.Revoke();
            logger.LogWarning(
                "Closing the connection of {ClientId}: the credentials of user '{User}' were {Change}",
                client.Id,
                identity.User,
                current is null ? "removed" : "changed");
            try
            {
                await client.DisconnectAsync(new MqttServerClientDisconnectOptions { ReasonCode = MQTTnet.Protocol.MqttDisconnectReasonCode.NotAuthorized, ReasonString = "credentials revoked or changed" });
            }
            catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
            {
                // It went away by itself meanwhile.
            }
        }
    }
}
