using Microsoft.AspNetCore.Connections;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// The last step of an MQTT connection's pipeline. Under a flood of broken connections MQTTnet's server has been seen
/// disposing a session's lock while another task of the same connection still held it: the connection is over either
/// way, the broker and every other client go on, so it is a warning about that connection, not a hub failure.
/// </summary>
internal static class MqttTeardownGuard
{
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(IServiceProvider services) => next => async connection =>
    {
        try
        {
            await next(connection);
        }
        catch (SynchronizationLockException e)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MqttTeardownGuard))
                .LogWarning("MQTT connection {Connection} from {Remote} ended while the broker was still closing it ({Error})", connection.ConnectionId, connection.RemoteEndPoint, e.Message);
        }
    };
}
