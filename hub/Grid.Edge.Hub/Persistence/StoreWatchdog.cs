using Grid.Edge.Hub.Storage.Chunks;

namespace Grid.Edge.Hub.Persistence;

/// <summary>
/// Ends the hub with a non-zero exit code when the store's writer failed unexpectedly: from then on the store
/// acknowledges nothing, and a fresh start (systemd's <c>Restart=on-failure</c>) replays its log, which holds
/// every acknowledged reading.
/// </summary>
internal sealed class StoreWatchdog(ChunkedTimeSeriesStore store, IHostApplicationLifetime lifetime, ILogger<StoreWatchdog> logger) : BackgroundService
{
    /// <summary>EX_SOFTWARE: an internal error, not a bad setting (2) or a busy port (1).</summary>
    public const int FaultExitCode = 70;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Exception fault;
        try
        {
            fault = await store.Faulted.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        logger.LogCritical(fault, "The store stopped on an unexpected error; the hub exits with code {Code} so that it is started again and replays its log", FaultExitCode);
        Environment.ExitCode = FaultExitCode;
        lifetime.StopApplication();
    }
}
