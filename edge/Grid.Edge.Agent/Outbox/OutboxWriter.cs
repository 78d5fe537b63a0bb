using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Outbox;

/// <summary>Moves queued readings into the outbox, many per transaction; on shutdown it drains the queue first.</summary>
internal sealed class OutboxWriter(ReadingInbox queue, SqliteOutbox outbox, ILogger<OutboxWriter> logger) : BackgroundService
{
    private const int MaxPerTransaction = 5000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<OutboxReading>(MaxPerTransaction);
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
                Flush(batch);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Stopping: whatever was taken must still reach the disk. Done here, after the loop ended, because a host
    /// stopped right after starting may cancel the loop before it ever ran.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Flush(new List<OutboxReading>(MaxPerTransaction));
    }

    private void Flush(List<OutboxReading> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxPerTransaction && queue.Reader.TryRead(out var reading))
                batch.Add(reading);
            if (batch.Count == 0)
                return;
            try
            {
                outbox.Add(batch);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e)
            {
                // A full or failing disk: say so loudly; the readings of this batch are lost and counted in the log.
                logger.LogError("The outbox could not store {Count} readings: {Error}", batch.Count, e.Message);
            }
            finally
            {
                queue.Settled(batch.Count);
            }
        }
    }
}
