using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// Writes the buckets changed since the last checkpoint to the chunk store as compressed chunks with their rollups,
/// in one transaction with the series records, the new origins, the joining of buckets left in many parts and
/// retention; then lets memory go of what is written. Runs on the writer's thread.
/// </summary>
/// <remarks>
/// Nothing in memory changes until the transaction has committed: a failed checkpoint leaves the store as it was
/// (and the log holding everything), so the next one simply tries again. What the transaction decides to change in
/// memory is collected in <c>afterCommit</c>.
/// </remarks>
internal sealed class Checkpointer(SeriesTable table, ChunkRepository chunks, OriginRegistry origins, Retention retention, ChunkStoreOptions options, ILogger logger)
{
    // A bucket takes at most this many parts by appending them; then it is written whole again.
    private const int MaxAppendedParts = 64;

    // Buckets left in more parts than their points need, to be written whole by a checkpoint on time: each part
    // costs a header, restarts compression and leaves part of a page empty.
    private readonly HashSet<(SeriesState State, long Bucket)> _compactLater = [];
    private DateTimeOffset _lastCompaction;
    private long _checkpoints;
    private long _chunkBytesWritten;

    public DateTimeOffset LastCheckpoint { get; private set; } = options.Time.GetUtcNow();

    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    public long ChunkBytesWritten => Interlocked.Read(ref _chunkBytesWritten);

    public bool IsDue => options.Time.GetUtcNow() - LastCheckpoint >= options.CheckpointInterval;

    /// <summary>A checkpoint failed: the next is due an interval from now, not at once.</summary>
    public void Postpone() => LastCheckpoint = options.Time.GetUtcNow();

    /// <summary>
    /// Writes every changed bucket as a chunk with its rollups; returns how many points memory let go of. In a
    /// <paramref name="backfill"/> (a checkpoint called early by the amount written) buckets left in several parts
    /// are joined later, by the next checkpoint on time, not while the backfill waits. A <paramref name="whole"/>
    /// checkpoint (asked for, or at shutdown) writes changed buckets whole too, so that the store is left in as few
    /// parts as it can be.
    /// </summary>
    public long Write(bool backfill, bool whole)
    {
        var watch = Stopwatch.StartNew();
        List<(SeriesState State, BucketBuffer Buffer)> dirty = [];
        List<SeriesState> changed;
        lock (table.Gate)
        {
            foreach (var state in table.Series.Values)
            {
                foreach (var buffer in state.Buckets.Values)
                {
                    // A bucket that took no points since the last checkpoint is done for now and leaves memory below;
                    // one written in more parts than its points need (appended checkpoint after checkpoint) is
                    // written whole.
                    if (buffer.Dirty)
                        dirty.Add((state, buffer));
                    else if (buffer.SealedParts > chunks.PartsFor(buffer.Count))
                        _compactLater.Add((state, buffer.Start));
                }
            }

            changed = [.. table.Changed];
        }

        // Only this (the writer's) thread changes buffers, so their content can be read without the lock.
        var written = new Dictionary<BucketBuffer, List<byte[]>>();
        var afterCommit = new List<Action>();
        var retain = retention.IsDue;
        if (dirty.Count > 0 || changed.Count > 0 || retain || _compactLater.Count > 0)
        {
            long chunkBytes = 0;
            using (var transaction = chunks.Index.BeginTransaction())
            {
                using var sql = new SqlStatements(chunks.Index, transaction);
                var savedOrigins = origins.SaveNew(chunks.Index, transaction);
                foreach (var state in changed)
                    ChunkRepository.SaveSeries(sql, state.Id, state.Info);
                foreach (var (state, buffer) in dirty)
                {
                    chunks.MarkChanged(sql, state.Id, buffer.Start);
                    if (!whole && buffer.OnlyAppended && buffer.SealedParts < MaxAppendedParts)
                    {
                        written[buffer] = chunks.AppendBucket(sql, state.Id, buffer, ref chunkBytes);
                        continue;
                    }

                    var (times, values, stamps) = buffer.Snapshot();
                    written[buffer] = chunks.SaveBucket(sql, state.Id, buffer.Start, times, values, stamps, ref chunkBytes);
                }

                // A long backfill still has its parts joined once per checkpoint interval.
                if (!backfill || options.Time.GetUtcNow() - _lastCompaction >= options.CheckpointInterval)
                    CompactParts(sql, afterCommit, ref chunkBytes);

                if (retain)
                    retention.Apply(chunks, sql, afterCommit);
                chunks.Commit(transaction);
                origins.MarkSaved(savedOrigins);
            }

            Interlocked.Add(ref _chunkBytesWritten, chunkBytes);
            lock (table.Gate)
            {
                foreach (var state in changed)
                {
                    state.Catalogued = true;
                    table.Changed.Remove(state);
                }
            }

            foreach (var action in afterCommit)
                action();
            if (retain)
                retention.ReturnFreePages(chunks.Index);
        }

        var released = Release(written);
        LastCheckpoint = options.Time.GetUtcNow();
        Interlocked.Increment(ref _checkpoints);
        StoreMeter.CheckpointSeconds.Record(watch.Elapsed.TotalSeconds);
        if (dirty.Count > 0)
            logger.LogDebug("Checkpoint wrote {Buckets} chunks in {Ms} ms", dirty.Count, watch.ElapsedMilliseconds);
        return released;
    }

    /// <summary>
    /// A written bucket keeps only its chunk (compressed) in memory, for the points still coming into it; a bucket
    /// nothing was written to since the last checkpoint leaves memory (the next point loads it again).
    /// </summary>
    private long Release(Dictionary<BucketBuffer, List<byte[]>> written)
    {
        long released = 0;
        lock (table.Gate)
        {
            foreach (var state in table.Series.Values)
            {
                foreach (var (start, buffer) in state.Buckets.ToList())
                {
                    if (written.TryGetValue(buffer, out var chunk))
                    {
                        released += buffer.OpenCount;
                        buffer.Dirty = false;
                        buffer.Seal(chunk);
                    }
                    else if (!buffer.Dirty)
                    {
                        released += buffer.Count;
                        state.Buckets.Remove(start);
                    }
                }
            }
        }

        return released;
    }

    /// <summary>Writes the buckets waiting to be joined (see <see cref="Write"/>) whole, each in as few parts as its points need.</summary>
    private void CompactParts(SqlStatements sql, List<Action> afterCommit, ref long chunkBytes)
    {
        foreach (var (state, start) in _compactLater)
        {
            // A bucket taking points again is written by the checkpoints (and joined once it is done again).
            bool busy;
            lock (table.Gate)
                busy = state.Buckets.TryGetValue(start, out var held) && held.Dirty;
            if (busy || !table.Series.ContainsKey(state.Info.Key))
                continue;
            var stored = chunks.ReadParts(state.Id, start);
            if (stored.Count <= 1)
                continue;
            var (times, values, stamps) = BucketBuffer.DecodeParts(stored);
            if (stored.Count <= chunks.PartsFor(times.Length))
                continue;
            var parts = chunks.SaveBucket(sql, state.Id, start, times, values, stamps, ref chunkBytes);
            afterCommit.Add(() =>
            {
                lock (table.Gate)
                {
                    if (state.Buckets.TryGetValue(start, out var held))
                        held.Seal(parts);
                }
            });
        }

        afterCommit.Add(() =>
        {
            _compactLater.Clear();
            _lastCompaction = options.Time.GetUtcNow();
        });
    }
}
