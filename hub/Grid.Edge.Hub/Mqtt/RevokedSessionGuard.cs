using Grid.Edge.Hub.Security;
using MQTTnet.Server;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>Closes the sessions of users that were removed (a revoked device must not keep publishing on an old connection).</summary>
internal sealed class RevokedSessionGuard(MqttServer server, MqttUserDirectory users, ILogger<RevokedSessionGuard> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
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
                    foreach (var client in await server.GetClientsAsync())
                    {
                        var identity = ClientIdentity.Of(client.Session.Items);
                        if (string.IsNullOrEmpty(identity.User) || users.Exists(identity.User))
                            continue;
                        logger.LogWarning("Closing the session of {ClientId}: user '{User}' was removed", client.Id, identity.User);
                        await client.DisconnectAsync(new MqttServerClientDisconnectOptions { ReasonCode = MQTTnet.Protocol.MqttDisconnectReasonCode.NotAuthorized, ReasonString = "credentials revoked" });
                    }
                }
                catch (Exception e) when (_faults.Outlive(e, "to close the sessions of removed users"))
                {
                    // Tried again at the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
