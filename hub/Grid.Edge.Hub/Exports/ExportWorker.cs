using System.Collections.Concurrent;
using Grid.Edge.Hub.Readings;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Exports;

/// <summary>
/// One export: sends what the store keeps to its target, each point at least once, and since the target keeps one
/// point per series, tags and time (a resend overwrites it), exactly once there. Readings flow live from the
/// readings-stored hook; at start, and after the live queue was given up (the target was away too long), it catches up
/// from its durable cursor: every bucket the store changed after it, whole. Writes that fail are tried again with
/// <see cref="Backoff"/>, the same points, until the target takes them.
/// </summary>
internal sealed class ExportWorker : IDisposable
{
    private const int ChangePage = 500;
    private readonly ExportSettings _settings;
    private readonly IExportTarget _target;
    private readonly ChunkedTimeSeriesStore _store;
    private readonly ExportCursorFile _file;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly Backoff _backoff;
    private readonly TimeSpan _tick;
    private readonly CursorAdvance _advance;
    private readonly ConcurrentDictionary<SeriesKey, bool> _selected = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Lock _gate = new();
    private readonly Queue<Batch> _queue = new();

    // Under _gate: the live queue, its sequence numbers, and what the API shows.
    private long _queuedSeq;
    private long _sentSeq;
    private long _queuedPoints;
    private long _droppedAtSeq = -1;
    private Batch? _inFlight;
    private string _state = "catching up";
    private long _catchUpPoints;
    private long _busySinceMs;
    private DateTimeOffset? _lastSuccess;
    private string? _lastError;
    private long _pointsSent;
    private int _failures;
    private long? _backfillFrom;

    private long _head;
    private bool _catchUp = true;

    public ExportWorker(ExportSettings settings, IExportTarget target, ChunkedTimeSeriesStore store, ExportCursorFile file, TimeProvider time, ILogger? logger = null, Backoff? backoff = null, TimeSpan? tick = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _file = file ?? throw new ArgumentNullException(nameof(file));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger;
        _backoff = backoff ?? Backoff.Default;
        _tick = tick ?? TimeSpan.FromSeconds(30);
        _advance = new CursorAdvance(file.Load(logger));
        _head = _advance.Durable;
    }

    public string Name => _settings.Name;

    /// <summary>From the readings-stored hook: queues the selected readings (cheap; on the writer's thread).</summary>
    public void OnStored(ReadingsStored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        List<Reading>? wanted = null;
        foreach (var reading in stored.Readings)
        {
            if (Selected(reading.Series))
                (wanted ??= []).Add(reading);
        }

        if (wanted is null)
            return;
        var dropped = false;
        lock (_gate)
        {
            _queuedSeq++;
            if (_queuedPoints + wanted.Count > _settings.MaxQueuedPoints)
            {
                // The store keeps them: a catch-up from the cursor sends them when the target is back.
                dropped = _droppedAtSeq < 0;
                _queue.Clear();
                _queuedPoints = 0;
                _droppedAtSeq = _queuedSeq;
            }
            else
            {
                _queue.Enqueue(new Batch(wanted, _queuedSeq, _time.GetUtcNow().ToUnixTimeMilliseconds()));
                _queuedPoints += wanted.Count;
            }
        }

        if (dropped)
            _logger?.LogWarning("Export {Export}: more than {Max} points wait for {Target}; they are read again from the store once it takes writes", _settings.Name, _settings.MaxQueuedPoints, _settings.Target);
        if (_signal.CurrentCount == 0)
            _signal.Release();
    }

    /// <summary>Sends every stored point of the selected series from <paramref name="fromMs"/> on again, after what is under way.</summary>
    public int Backfill(long fromMs)
    {
        lock (_gate)
            _backfillFrom = Math.Min(_backfillFrom ?? long.MaxValue, fromMs);
        if (_signal.CurrentCount == 0)
            _signal.Release();
        return _store.ListSeries().Count(s => Selected(s.Key) && s.LatestMs >= fromMs);
    }

    public ExportState State()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            var oldest = _inFlight?.QueuedAtMs ?? (_queue.TryPeek(out var first) ? first.QueuedAtMs : (long?)null);
            if (_state is "catching up" or "backfilling")
                oldest = Math.Min(oldest ?? long.MaxValue, _busySinceMs);
            var lagPoints = _queuedPoints + (_inFlight?.Readings.Count ?? 0) + _catchUpPoints;
            return new ExportState(
                _settings.Name,
                _settings.KindName,
                _settings.Target,
                _failures > 0 ? "retrying" : _state,
                _lastSuccess,
                lagPoints,
                oldest is { } at ? Math.Max(0, now - at) : 0,
                _lastError,
                _pointsSent,
                _advance.Durable,
                string.Join(",", _settings.Series));
        }
    }

    /// <summary>Runs until <paramref name="stop"/>; the target failing or the store failing a read never ends it.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var nextTick = _time.GetUtcNow() + _tick;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                TakeDrop();
                if (_catchUp)
                {
                    await CatchUpAsync(stop);
                    _catchUp = false;
                    continue;
                }

                if (TakeBackfill() is { } from)
                {
                    await BackfillAsync(from, stop);
                    continue;
                }

                var batch = TakeBatch();
                if (batch is not null)
                {
                    await SendAsync(batch.Readings, stop);
                    lock (_gate)
                    {
                        _sentSeq = Math.Max(_sentSeq, batch.Seq);
                        _inFlight = null;
                    }
                }

                if (_time.GetUtcNow() >= nextTick)
                {
                    await TickAsync(stop);
                    nextTick = _time.GetUtcNow() + _tick;
                }

                if (batch is null)
                {
                    var wait = nextTick - _time.GetUtcNow();
                    if (wait > TimeSpan.Zero)
                        await _signal.WaitAsync(wait, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (Hosting.ServiceFaults.IsTransient(ex))
            {
                // The store failed a read: the work is done again from the cursor after a pause.
                int failures;
                lock (_gate)
                {
                    _lastError = $"reading the hub's store failed ({ex.Message}); the export tries again";
                    failures = ++_failures;
                    _catchUp = true;
                }

                _logger?.LogWarning(ex, "Export {Export}: reading the store failed; trying again", _settings.Name);
                await Delay(_backoff.Delay(failures, Random.Shared.NextDouble()), stop);
            }
        }
    }

    public void Dispose()
    {
        _target.Dispose();
        _signal.Dispose();
    }

    private bool Selected(SeriesKey series) =>
        _selected.GetOrAdd(series, static (key, patterns) => SeriesPattern.MatchesAny(patterns, key.Id), _settings.Series);

    private void TakeDrop()
    {
        lock (_gate)
        {
            if (_droppedAtSeq < 0)
                return;
            _sentSeq = Math.Max(_sentSeq, _droppedAtSeq);
            _droppedAtSeq = -1;
            _advance.Forget();
            _catchUp = true;
        }
    }

    private long? TakeBackfill()
    {
        lock (_gate)
        {
            var from = _backfillFrom;
            _backfillFrom = null;
            return from;
        }
    }

    /// <summary>Whole batches off the queue, up to <see cref="ExportSettings.BatchPoints"/> points (one batch at least).</summary>
    private Batch? TakeBatch()
    {
        lock (_gate)
        {
            if (_queue.Count == 0)
                return null;
            var first = _queue.Dequeue();
            var readings = new List<Reading>(first.Readings);
            var last = first;
            while (_queue.TryPeek(out var next) && readings.Count + next.Readings.Count <= _settings.BatchPoints)
            {
                readings.AddRange(_queue.Dequeue().Readings);
                last = next;
            }

            _queuedPoints -= readings.Count;
            _inFlight = new Batch(readings, last.Seq, first.QueuedAtMs);
            return _inFlight;
        }
    }

    /// <summary>Sends every bucket the store changed after the cursor, whole, moving the cursor after each page.</summary>
    private async Task CatchUpAsync(CancellationToken stop)
    {
        SetBusy("catching up");
        await _store.CheckpointAsync().WaitAsync(stop); // points only in the log get their change numbers
        var cursor = _advance.Durable;
        long buckets = 0;
        while (true)
        {
            var page = await _store.ReadChangesAsync(cursor, ChangePage, stop);
            var points = new List<Reading>();
            foreach (var change in page.Changes)
            {
                if (!Selected(change.Series))
                    continue;
                var bucket = await _store.ReadStampedBucketAsync(change.Series, change.BucketStart, stop);
                if (bucket is null)
                    continue;
                buckets++;
                for (var i = 0; i < bucket.Times.Length; i++)
                {
                    if (bucket.Times[i] >= 0)
                        points.Add(new Reading(bucket.Series, bucket.Times[i], bucket.Values[i], bucket.Unit));
                }

                // A page of full buckets could be millions of points: they go out as they are read.
                if (points.Count >= _settings.BatchPoints)
                    await SendCaughtUpAsync(points, stop);
            }

            await SendCaughtUpAsync(points, stop);
            cursor = page.Cursor;
            _advance.CaughtUp(cursor);
            _head = Math.Max(_head, cursor);
            _file.Save(_advance.Durable);
            if (!page.More)
                break;
        }

        SetBusy(null);
        if (buckets > 0)
            _logger?.LogInformation("Export {Export}: {Buckets} buckets changed since its cursor were sent to {Target}", _settings.Name, buckets, _settings.Target);
    }

    private async Task SendCaughtUpAsync(List<Reading> points, CancellationToken stop)
    {
        lock (_gate)
            _catchUpPoints = points.Count;
        await SendAsync(points, stop);
        points.Clear();
    }

    private async Task BackfillAsync(long fromMs, CancellationToken stop)
    {
        SetBusy("backfilling");
        var to = _time.GetUtcNow().ToUnixTimeMilliseconds() + (long)TimeSpan.FromDays(1).TotalMilliseconds;
        long sent = 0;
        foreach (var series in _store.ListSeries())
        {
            if (!Selected(series.Key) || series.LatestMs < fromMs)
                continue;
            var from = fromMs;
            while (true)
            {
                var columns = await _store.ReadColumnsAsync(series.Key, from, to, _settings.BatchPoints, stop);
                if (columns.Count == 0)
                    break;
                var points = new List<Reading>(columns.Count);
                for (var i = 0; i < columns.Count; i++)
                    points.Add(new Reading(series.Key, columns.Times[i], columns.Values[i], series.Unit));
                lock (_gate)
                    _catchUpPoints = points.Count;
                await SendAsync(points, stop);
                sent += points.Count;
                if (columns.Count < _settings.BatchPoints)
                    break;
                from = columns.Times[^1] + 1;
            }
        }

        SetBusy(null);
        _logger?.LogInformation("Export {Export}: backfill from {From:o} sent {Points} points to {Target}", _settings.Name, DateTimeOffset.FromUnixTimeMilliseconds(fromMs), sent, _settings.Target);
    }

    private void SetBusy(string? state)
    {
        lock (_gate)
        {
            _state = state ?? "live";
            _busySinceMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _catchUpPoints = 0;
        }
    }

    /// <summary>Moves the durable cursor when the advance rule allows (see <see cref="CursorAdvance"/>).</summary>
    private async Task TickAsync(CancellationToken stop)
    {
        var head = _head;
        while (true)
        {
            var page = await _store.ReadChangesAsync(head, 100_000, stop);
            head = page.Cursor;
            if (!page.More)
                break;
        }

        _head = head;
        long queued, sent;
        lock (_gate)
            (queued, sent) = (_queuedSeq, _sentSeq);
        _advance.Tick(head, queued);
        if (_advance.Sent(sent))
            _file.Save(_advance.Durable);
    }

    /// <summary>Writes <paramref name="readings"/> in batches, each tried until the target takes it.</summary>
    private async Task SendAsync(IReadOnlyList<Reading> readings, CancellationToken stop)
    {
        for (var start = 0; start < readings.Count; start += _settings.BatchPoints)
        {
            var count = Math.Min(_settings.BatchPoints, readings.Count - start);
            var lines = LineProtocol.Format(readings.Skip(start).Take(count));
            while (true)
            {
                try
                {
                    await _target.WriteAsync(lines, stop);
                    bool recovered;
                    lock (_gate)
                    {
                        recovered = _failures > 0;
                        _failures = 0;
                        _lastError = null;
                        _lastSuccess = _time.GetUtcNow();
                        _pointsSent += count;
                        if (_catchUpPoints > 0)
                            _catchUpPoints = Math.Max(0, _catchUpPoints - count);
                    }

                    if (recovered)
                        _logger?.LogInformation("Export {Export}: {Target} takes writes again", _settings.Name, _settings.Target);
                    break;
                }
                catch (ExportTargetException ex)
                {
                    int failures;
                    lock (_gate)
                    {
                        failures = ++_failures;
                        _lastError = ex.Message;
                    }

                    if (failures == 1)
                        _logger?.LogWarning("Export {Export}: {Error}", _settings.Name, ex.Message);
                    await Delay(_backoff.Delay(failures, Random.Shared.NextDouble()), stop);
                }
            }
        }
    }

    private Task Delay(TimeSpan delay, CancellationToken stop) => Task.Delay(delay, _time, stop);

    private sealed record Batch(IReadOnlyList<Reading> Readings, long Seq, long QueuedAtMs);
}
