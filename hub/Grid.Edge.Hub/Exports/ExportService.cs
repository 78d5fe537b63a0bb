using Grid.Edge.Hub.Readings;

namespace Grid.Edge.Hub.Exports;

/// <summary>Runs the configured exports (none: nothing runs and nothing listens to the readings).</summary>
internal sealed class ExportService(IReadOnlyList<ExportWorker> workers) : BackgroundService
{
    public IReadOnlyList<ExportWorker> Workers { get; } = workers;

    public void OnStored(ReadingsStored stored)
    {
        foreach (var worker in Workers)
            worker.OnStored(stored);
    }

    public ExportWorker? Find(string name) =>
        Workers.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));

    public override void Dispose()
    {
        foreach (var worker in Workers)
            worker.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Workers.Select(w => w.RunAsync(stoppingToken)));
}
