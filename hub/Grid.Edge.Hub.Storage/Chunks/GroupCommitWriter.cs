using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The store's one writer thread: takes the appends queued meanwhile as one group, applies it to memory, writes and
/// syncs its log record (one fsync for the group), and only then acknowledges it; checkpoints when one is due. When
/// the log write or fsync fails, the group is undone, its appends fail, and nothing more is acknowledged (degraded)
/// until a checkpoint has put what memory holds into the chunk store and a new log file is in use.
/// </summary>
internal sealed class GroupCommitWriter(
    SeriesTable table,
    ChunkRepository chunks,
    GroupApplier applier,
    Checkpointer checkpointer,
    ChunkStoreOptions options,
    ILogger logger)
{
    private static readonly TimeSpan CompactionPause = TimeSpan.FromSeconds(1);

    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource<Exception> _faulted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly GroupUndo _undo = new();
    private WriteAheadLog _log = null!;
    private Task _loop = Task.CompletedTask;

    // Degraded: a log write or fsync failed; nothing is acknowledged until the log is recovered. Faulted: the
    // writer itself failed and stopped; nothing is acknowledged until the process starts again.
    private volatile string? _problem;
    private volatile Exception? _fault;
    private DateTimeOffset _nextRecovery;
    private long _logFailures;
    private long _recoveries;
    private List<PendingAppend>? _inFlight;
    private PendingAppend? _checkpointRequest;
    private long _commits;
    private long _readingsAppended;
    private long _releasedSinceCompaction;
    private DateTimeOffset _lastCommit;

    public Task<Exception> Faulted => _faulted.Task;

    public Exception? Fault => _fault;

    public string? Problem => _problem;

    public long Commits => Interlocked.Read(ref _commits);

    public long ReadingsAppended => Interlocked.Read(ref _readingsAppended);

    public long LogFailures => Interlocked.Read(ref _logFailures);

    public long Recoveries => Interlocked.Read(ref _recoveries);

    public long LogBytes => _log.Length;

    public long LogBytesWritten => _log.BytesWritten;

    /// <summary>
    /// Opens the log and replays every intact record in it from before a crash; bytes that hold no readable record
    /// are first copied beside the log (quarantined), since the replay's checkpoint empties it.
    /// </summary>
    public void OpenLog()
    {
        var catalogue = table.Series.Values.ToDictionary(s => s.Id, s => (s.Info.Key, s.Info.Unit));
        _log = WriteAheadLog.Open(options.Files, options.LogPath, id => catalogue.TryGetValue(id, out var known) ? known : null, out var content);
        try
        {
            if (content.Damaged.Count > 0)
            {
                var quarantined = _log.Quarantine(options.Files, options.LogPath, content.Damaged, options.Time.GetUtcNow());
                logger.LogWarning(
                    "The store's log held {Bytes} bytes in {Regions} region(s) that are no intact record (a write torn by a power cut, or damage); they were copied to {Files} and every intact record around them is replayed",
                    content.DamagedBytes,
                    content.Damaged.Count,
                    string.Join(", ", quarantined));
            }

            if (content.Entries.Count > 0)
            {
                // Replayed like any append, but not logged again: the log already has it.
                var pending = new PendingAppend(content.Entries.Select(e => e.Reading).ToArray(), AppendKind.Replay) { Stamps = content.Entries.Select(e => e.Stamp).ToList() };
                var (_, _, touched) = applier.Apply([pending], undo: null);
                applier.Publish(touched);
                Checkpoint();
                logger.LogInformation("Recovered {Count} readings from the store's log", content.Entries.Count);
            }
            else if (_log.Length > 0)
            {
                _log.Truncate();
            }
        }
        catch
        {
            _log.Dispose();
            throw;
        }
    }

    public void Start() =>
        _loop = Task.Factory.StartNew(LoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    public void Enqueue(PendingAppend pending)
    {
        if (_queue.Writer.TryWrite(pending))
            return;
        if (_fault is { } fault)
            throw new StoreWriteException("The store's writer failed and stopped; restart the hub.", fault);
        throw new ObjectDisposedException(typeof(ChunkedTimeSeriesStore).FullName);
    }

    /// <summary>Takes no more appends, lets the queued ones finish, and (unless the writer failed) writes everything to the chunk store.</summary>
    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;

        // After a fault memory may hold half a group: only the log is trusted, and it is replayed at the next start.
        if (_fault is null)
        {
            try
            {
                Checkpoint(whole: true);
                ChunkIndex.Execute(chunks.Index, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);");
            }
            catch (Exception ex) when (IsStorageError(ex))
            {
                logger.LogWarning(ex, "Final checkpoint did not complete; the log is replayed at the next start");
            }
        }

        _log.Dispose();
    }

    /// <summary>Errors of the disk or of SQLite: an append or checkpoint fails and its caller is told; the writer goes on.</summary>
    private static bool IsStorageError(Exception ex) => ex is IOException or SqliteException or UnauthorizedAccessException;

    private static void Fail(List<PendingAppend> group, StoreWriteException failure)
    {
        foreach (var pending in group)
            pending.Completion.TrySetException(failure);
    }

    private async Task LoopAsync()
    {
        try
        {
            await RunAsync();
        }
        catch (Exception ex)
        {
            // Anything not foreseen (a bug, memory running out): memory may now be half-changed, so nothing more is
            // acknowledged; the log holds every acknowledged reading and is replayed when the process starts again.
            _fault = ex;
            logger.LogCritical(ex, "The store's writer failed and stopped; no more readings are acknowledged until the hub restarts");
            var failure = new StoreWriteException("The store's writer failed and stopped: " + ex.Message, ex);
            foreach (var pending in _inFlight ?? [])
                pending.Completion.TrySetException(failure);
            _checkpointRequest?.Completion.TrySetException(failure);
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var queued))
                queued.Completion.TrySetException(failure);
            _faulted.TrySetResult(ex);
        }
    }

    private async Task RunAsync()
    {
        var group = new List<PendingAppend>();
        _inFlight = group;

        // One wait at a time: a new one is asked for only once the previous has completed.
        Task<bool>? wait = null;
        while (true)
        {
            wait ??= _queue.Reader.WaitToReadAsync().AsTask();
            var now = options.Time.GetUtcNow();
            var due = _problem is null ? checkpointer.LastCheckpoint + options.CheckpointInterval - now : _nextRecovery - now;
            var compact = options.ReturnMemoryAfterPoints > 0 && _releasedSinceCompaction >= options.ReturnMemoryAfterPoints;
            if (compact && !wait.IsCompleted)
            {
                var idle = _lastCommit + CompactionPause - now;
                if (idle <= TimeSpan.Zero)
                {
                    // After a backfill the runtime keeps the memory its buffers used, for the next burst that may
                    // never come; on a Raspberry Pi that memory is better given back.
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    _releasedSinceCompaction = 0;
                    continue;
                }

                due = due < idle ? due : idle;
            }

            if (!wait.IsCompleted && due > TimeSpan.Zero)
                await Task.WhenAny(wait, Task.Delay(due, options.Time));
            if (wait.IsCompleted)
            {
                if (!await wait)
                    break;
                wait = null;
                if (options.CommitDelay > TimeSpan.Zero)
                    await Task.Delay(options.CommitDelay, options.Time);
            }

            group.Clear();
            var readings = 0;
            PendingAppend? checkpointRequest = null;
            while (readings < options.MaxReadingsPerCommit && checkpointRequest is null && _queue.Reader.TryRead(out var pending))
            {
                if (pending.CheckpointRequest)
                {
                    checkpointRequest = _checkpointRequest = pending;
                    break;
                }

                group.Add(pending);
                readings += pending.PointCount;
            }

            if (_problem is not null && (group.Count > 0 || options.Time.GetUtcNow() >= _nextRecovery))
                TryRecover();
            if (group.Count > 0)
                CommitGroup(group, readings);
            if (checkpointRequest is not null)
                CheckpointAsked(checkpointRequest);
            else if (_problem is not null)
            {
                // Checkpoints wait for the recovery (which is one).
            }
            else if (checkpointer.IsDue)
                TryCheckpoint(backfill: false);
            else if (_log.Length >= options.CheckpointLogBytes || applier.PointsSinceCheckpoint >= options.CheckpointPoints)
                TryCheckpoint(backfill: true);
        }
    }

    private void CommitGroup(List<PendingAppend> group, int readings)
    {
        if (_problem is { } problem)
        {
            Fail(group, new StoreWriteException(problem));
            return;
        }

        AppendResult[] results;
        List<LogEntry> stored;
        List<SeriesState> touched;
        _undo.Clear();
        try
        {
            (results, stored, touched) = applier.Apply(group, _undo);
            if (stored.Count > 0)
            {
                _log.Append(stored);
                _log.Sync();
            }
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            // Memory gets back exactly what it held before the group: a resent reading is then new again, logged
            // and synced, never taken for a duplicate of one that was never durable.
            applier.Undo(_undo);
            if (ex is not SqliteException)
                EnterDegraded(ex);
            logger.LogError(ex, "Writing {Readings} readings failed; their senders are told so and may retry", readings);
            Fail(group, new StoreWriteException("The store could not write the readings: " + ex.Message, ex));
            return;
        }

        applier.Publish(touched);
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _readingsAppended, readings);
        _lastCommit = options.Time.GetUtcNow();
        for (var i = 0; i < group.Count; i++)
            group[i].Completion.TrySetResult(results[i]);
        if (_undo.CreatedSeries.Count > 0)
            CatalogueNewSeries(_undo.CreatedSeries);
    }

    /// <summary>
    /// Saves the series a durable group created in the chunk store's catalogue, so that later log records name them
    /// by their id (a few bytes) rather than by device, metric and unit. Saved with no points: the log holds them
    /// and the next checkpoint writes the series with its chunks. Nothing depends on it: if it fails, the log goes
    /// on naming the series by key.
    /// </summary>
    private void CatalogueNewSeries(List<SeriesState> created)
    {
        try
        {
            using (var transaction = chunks.Index.BeginTransaction())
            {
                using var sql = new SqlStatements(chunks.Index, transaction);
                foreach (var state in created)
                    ChunkRepository.InsertNewSeries(sql, state);
                chunks.Commit(transaction);
            }

            foreach (var state in created)
                state.Catalogued = true;
        }
        catch (SqliteException ex)
        {
            logger.LogWarning(ex, "Saving {Count} new series in the chunk store's catalogue failed; the next checkpoint saves them", created.Count);
        }
    }

    /// <summary>A checkpoint asked for (before a backup, say): written whole, with SQLite's own journal folded into the file, so that chunks.db alone holds everything.</summary>
    private void CheckpointAsked(PendingAppend request)
    {
        try
        {
            Checkpoint(whole: true);
            ChunkIndex.Execute(chunks.Index, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);");
            request.Completion.TrySetResult(AppendResult.Empty);
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            request.Completion.TrySetException(new StoreWriteException("Checkpoint failed: " + ex.Message, ex));
        }

        _checkpointRequest = null;
    }

    /// <summary>A write or fsync of the log failed: nothing is acknowledged until <see cref="TryRecover"/> succeeds.</summary>
    private void EnterDegraded(Exception ex)
    {
        Interlocked.Increment(ref _logFailures);
        if (_problem is null)
            _nextRecovery = options.Time.GetUtcNow();
        _problem = $"The store's log could not be written ({ex.Message}); no reading is acknowledged until the store has written what it holds to the chunk store and started a new log. It retries every {options.RecoveryInterval.TotalSeconds:0.#} s.";
        logger.LogError(ex, "The store's log could not be written; acknowledging nothing until it recovers");
    }

    /// <summary>
    /// Recovers from a failed log write: a checkpoint puts everything memory holds (every acknowledged reading, and
    /// nothing else) into the chunk store, then the log starts afresh in a new file (see <see cref="WriteAheadLog.Replace"/>).
    /// </summary>
    private void TryRecover()
    {
        var now = options.Time.GetUtcNow();
        if (now < _nextRecovery)
            return;
        try
        {
            Checkpoint();
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            _nextRecovery = now + options.RecoveryInterval;
            logger.LogWarning(ex, "The store could not recover from the failed log write yet; it tries again in {Seconds} s", options.RecoveryInterval.TotalSeconds);
        }
    }

    private void TryCheckpoint(bool backfill)
    {
        try
        {
            Checkpoint(backfill);
        }
        catch (Exception ex) when (IsStorageError(ex))
        {
            // The log still holds everything: nothing is lost, the next checkpoint tries again.
            logger.LogError(ex, "Checkpoint failed; the log keeps the readings until the next one succeeds");
            checkpointer.Postpone();
        }
    }

    /// <summary>Writes every changed bucket to the chunk store, then empties the log (while degraded: starts a new log file, the recovery).</summary>
    private void Checkpoint(bool backfill = false, bool whole = false)
    {
        _releasedSinceCompaction += checkpointer.Write(backfill, whole);
        applier.CheckpointWritten();
        ResetLog();
    }

    private void ResetLog()
    {
        if (_problem is null)
        {
            try
            {
                _log.Truncate();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                EnterDegraded(ex);
                throw;
            }

            return;
        }

        var fresh = WriteAheadLog.Replace(options.Files, options.LogPath, _log.BytesWritten);
        var old = _log;
        _log = fresh;
        old.Dispose();
        _problem = null;
        Interlocked.Increment(ref _recoveries);
        logger.LogWarning("The store recovered from the failed log write: everything it held is in the chunk store, and a new log is in use");
    }
}
