using Grid.Edge.Hub.Exports;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>One export's worker over a real store and a target that records (or refuses) what it is sent.</summary>
public sealed class ExportWorkerTests : IAsyncLifetime
{
    private static readonly SeriesKey Flow = new("plant1", "flow");
    private readonly TempDirectory _dir = new();
    private readonly ExportSettings _settings = new() { Name = "lake", Kind = ExportKind.Influx1, Url = new Uri("http://127.0.0.1:9"), Database = "grid", BatchPoints = 100 };
    private ChunkedTimeSeriesStore _store = null!;

    public Task InitializeAsync()
    {
        _store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = Path.Combine(_dir.Path, "store"), Origin = "hub-a", CheckpointInterval = TimeSpan.FromHours(1) });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_cursor_follows_live_readings_and_a_restart_resends_only_buckets_changed_after_it_late_ones_included()
    {
        var target = new RecordingTarget();
        await using (var running = Start(target))
        {
            await WaitForStateAsync(running.Worker, s => s.State == "live", "the first catch-up");
            await StoreAsync(running.Worker, 0, 250);
            await _store.CheckpointAsync();
            var state = await WaitForStateAsync(running.Worker, s => s.Cursor > 0 && s.LagPoints == 0, "the cursor to pass the checkpoint");
            Assert.Equal(250, state.PointsSent);
            Assert.Equal(state.Cursor, new ExportCursorFile(_dir.Path, _settings).Load(null));
        }

        Assert.Equal(Enumerable.Range(0, 250).Select(ExportData.Time), target.Times.Order());

        // A restart finds nothing changed after the cursor: nothing is sent again.
        target.Clear();
        await using (var running = Start(target))
        {
            await WaitForStateAsync(running.Worker, s => s.State == "live", "the catch-up after a restart");
            Assert.Empty(target.Times);
        }

        // A late reading stored while no hook told the export (a crash between the write and the hook): its bucket
        // changed after the cursor, so the next start sends that bucket whole.
        await _store.AppendAsync([new Reading(Flow, ExportData.Time(0) - 500, 7, "l")]);
        await using (var running = Start(target))
        {
            await WaitForStateAsync(running.Worker, s => s.State == "live", "the catch-up of the late reading");
            Assert.Contains(ExportData.Time(0) - 500, target.Times);
            Assert.Equal(251, target.Times.Distinct().Count());
        }
    }

    [Fact]
    public async Task A_write_the_target_refuses_is_tried_again_with_the_same_points_until_it_is_taken()
    {
        var target = new RecordingTarget { Refusals = 3 };
        await using var running = Start(target);
        await WaitForStateAsync(running.Worker, s => s.State == "live", "the first catch-up");
        await StoreAsync(running.Worker, 0, 50);
        var refused = await WaitForStateAsync(running.Worker, s => s.LastError is not null, "the refusal to show");
        Assert.Equal("retrying", refused.State);
        Assert.Equal(50, refused.LagPoints);
        Assert.Contains("refused for the test", refused.LastError, StringComparison.Ordinal);
        var state = await WaitForStateAsync(running.Worker, s => s.LastError is null && s.LagPoints == 0, "the write to be taken");
        Assert.Equal(("live", 50L), (state.State, state.PointsSent));
        Assert.NotNull(state.LastSuccess);
        Assert.Equal(4, target.Attempts.Count);
        Assert.Single(target.Attempts.Distinct()); // the same lines each time
    }

    private Running Start(RecordingTarget target)
    {
        var worker = new ExportWorker(_settings, target, _store, new ExportCursorFile(_dir.Path, _settings), TimeProvider.System, backoff: new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)), tick: TimeSpan.FromMilliseconds(50));
        var stop = new CancellationTokenSource();
        return new Running(worker, stop, worker.RunAsync(stop.Token));
    }

    private async Task StoreAsync(ExportWorker worker, int first, int count)
    {
        var readings = Enumerable.Range(first, count).Select(i => new Reading(Flow, ExportData.Time(i), ExportData.Value(i), "l")).ToList();
        var result = await _store.AppendAsync(readings);
        worker.OnStored(new ReadingsStored(ReadingOrigin.Device, result.Stored));
    }

    private static Task<ExportState> WaitForStateAsync(ExportWorker worker, Func<ExportState, bool> done, string what) =>
        Eventually.WaitForAsync(() => Task.FromResult(worker.State()), done, what);

    private sealed record Running(ExportWorker Worker, CancellationTokenSource Stop, Task Run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Stop.CancelAsync();
            await Run;
            Stop.Dispose();
        }
    }

    /// <summary>Keeps the times of the lines it takes; refuses the first <see cref="Refusals"/> writes.</summary>
    private sealed class RecordingTarget : IExportTarget
    {
        private readonly Lock _gate = new();
        private readonly List<long> _times = [];
        private readonly List<string> _attempts = [];

        public int Refusals { get; set; }

        public IReadOnlyList<long> Times
        {
            get
            {
                lock (_gate)
                    return [.. _times];
            }
        }

        public IReadOnlyList<string> Attempts
        {
            get
            {
                lock (_gate)
                    return [.. _attempts];
            }
        }

        public Task WriteAsync(string lines, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _attempts.Add(lines);
                if (Refusals-- > 0)
                    throw new ExportTargetException("refused for the test");
                _times.AddRange(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
            }

            return Task.CompletedTask;
        }

        public void Clear()
        {
            lock (_gate)
            {
                _times.Clear();
                _attempts.Clear();
            }
        }

        public void Dispose()
        {
        }
    }
}
