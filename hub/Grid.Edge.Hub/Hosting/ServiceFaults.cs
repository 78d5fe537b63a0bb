using System.Data.Common;
using Grid.Edge.Hub.Storage;

namespace Grid.Edge.Hub.Hosting;

/// <summary>
/// How a background service (derived weather, alerts, vehicles, webhooks, retained messages, revoked sessions) meets
/// an error. A transient one - the disk or the store failing a read or a write, a damaged chunk, a file it may not
/// touch - is logged (the first at once, then at most one line a minute with the count) and the service goes on with
/// its next piece of work: one bad read must not stop the broker and the store with it. Anything else is a fault in
/// the hub itself: it leaves the service, the host stops, and the process exits non-zero
/// (<see cref="HubHost.FailedService"/>) so that systemd restarts it.
/// </summary>
internal sealed class ServiceFaults(ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);
    private readonly Lock _gate = new();
    private DateTimeOffset _lastLogged = DateTimeOffset.MinValue;
    private long _unlogged;
    private long _count;

    /// <summary>Transient errors outlived since start.</summary>
    public long Count => Interlocked.Read(ref _count);

    public static bool IsTransient(Exception e) =>
        e is IOException or UnauthorizedAccessException or StoreWriteException or DbException or InvalidDataException
            or MQTTnet.Exceptions.MqttCommunicationException;

    /// <summary>
    /// For an exception filter around one piece of work: true (logged) when the service should carry on with the
    /// next, false when the error must end the service.
    /// </summary>
    public bool Outlive(Exception e, string doing)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!IsTransient(e))
            return false;
        Interlocked.Increment(ref _count);
        long unlogged;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now - _lastLogged < LogInterval)
            {
                _unlogged++;
                return true;
            }

            _lastLogged = now;
            unlogged = _unlogged;
            _unlogged = 0;
        }

        logger.LogError(
            "Failed {Doing}: {Error}; carrying on{Unlogged}",
            doing,
            e.Message,
            unlogged > 0 ? $" ({unlogged} more such errors in the last minute were not logged)" : string.Empty);
        return true;
    }
}
