using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// Puts a group of appends into the bucket buffers and decides, point by point, what is stored: a duplicate is
/// not, a local correction gets the next clock value, a merged write is kept only if its stamp wins. Every change is
/// noted so that a group whose log record does not become durable is undone exactly. Runs on the writer's thread.
/// </summary>
internal sealed class GroupApplier(SeriesTable table, ChunkRepository chunks, OriginRegistry origins, HybridLogicalClock clock, int maxReadingsPerCommit)
{
    // One list for every group: a big group would otherwise allocate (and the collector clear) a new large array.
    private readonly List<LogEntry> _logged = [];
    private GroupUndo? _journal;
    private long _pointsSinceCheckpoint;

    private enum LocalPut
    {
        Duplicate,
        Inserted,
        Updated,
    }

    /// <summary>Points put since the last checkpoint (a checkpoint is called early when they are many).</summary>
    public long PointsSinceCheckpoint => Interlocked.Read(ref _pointsSinceCheckpoint);

    public void CheckpointWritten() => Interlocked.Exchange(ref _pointsSinceCheckpoint, 0);

    /// <summary>
    /// Applies appends to the bucket buffers; returns per-append results, the readings to log and the series whose
    /// changes are to be published once the group is durable. Every change is noted in <paramref name="undo"/>.
    /// </summary>
    public (AppendResult[] Results, List<LogEntry> Stored, List<SeriesState> Touched) Apply(List<PendingAppend> group, GroupUndo? undo)
    {
        var loaded = LoadBuckets(group);
        var results = new AppendResult[group.Count];
        var logged = _logged;
        logged.Clear();
        if (logged.Capacity > 4 * maxReadingsPerCommit)
            logged.Capacity = maxReadingsPerCommit;
        var touched = undo?.Touched ?? [];
        _journal = undo;
        if (undo is not null)
            undo.PointsSinceCheckpoint = _pointsSinceCheckpoint;
        lock (table.Gate)
        {
            foreach (var (state, buffer) in loaded)
                state.Buckets.TryAdd(buffer.Start, buffer);
            for (var p = 0; p < group.Count; p++)
            {
                var pending = group[p];
                results[p] = ApplyReadings(pending, logged, touched);
                if (pending.Columns is not null)
                    pending.ColumnsResult = ApplyColumns(pending, logged, touched);
            }
        }

        _journal = null;
        return (results, logged, touched);
    }

    /// <summary>Puts memory back as it was before a group whose log record did not become durable.</summary>
    public void Undo(GroupUndo undo)
    {
        lock (table.Gate)
        {
            for (var i = undo.Points.Count - 1; i >= 0; i--)
            {
                var (buffer, t, existed, value, stamp) = undo.Points[i];
                if (existed)
                    buffer.Put(t, value, stamp);
                else
                    buffer.Remove(t);
            }

            foreach (var (buffer, (dirty, origin)) in undo.Buffers)
                buffer.RestoreFlags(dirty, origin);
            foreach (var (state, start, buffer) in undo.CreatedBuckets)
            {
                if (state.Buckets.TryGetValue(start, out var held) && ReferenceEquals(held, buffer))
                    state.Buckets.Remove(start);
            }

            foreach (var state in undo.CreatedSeries)
                table.Series.TryRemove(KeyValuePair.Create(state.Info.Key, state));
            foreach (var state in undo.Touched)
                state.Discard();
            _pointsSinceCheckpoint = undo.PointsSinceCheckpoint;
        }

        undo.Clear();
    }

    /// <summary>Makes the series changes of a durable group visible to readers and due for the next checkpoint.</summary>
    public void Publish(List<SeriesState> touched)
    {
        lock (table.Gate)
        {
            foreach (var state in touched)
            {
                state.Publish();
                table.Changed.Add(state);
            }
        }
    }

    /// <summary>
    /// Buckets touched for the first time since they were written are loaded from their chunk first (outside the
    /// lock), so that duplicates and late data are judged against everything stored. The series of each reading is
    /// looked up once here and kept for the pass that applies it.
    /// </summary>
    private List<(SeriesState State, BucketBuffer Buffer)> LoadBuckets(List<PendingAppend> group)
    {
        var toLoad = new HashSet<(SeriesState, long)>();
        lock (table.Gate)
        {
            foreach (var pending in group)
            {
                var readings = pending.Readings;
                pending.States = new SeriesState?[readings.Length];
                for (var i = 0; i < readings.Length; i++)
                {
                    if (table.Series.TryGetValue(readings[i].Series, out var state))
                    {
                        pending.States[i] = state;
                        var start = table.BucketOf(readings[i].TimestampMs);
                        if (!state.Buckets.ContainsKey(start))
                            toLoad.Add((state, start));
                    }
                }

                if (pending.Columns is { } columns)
                {
                    pending.ColumnStates = new SeriesState?[columns.Length];
                    for (var c = 0; c < columns.Length; c++)
                    {
                        if (!table.Series.TryGetValue(columns[c].Series, out var state))
                            continue;
                        pending.ColumnStates[c] = state;
                        var last = long.MinValue;
                        foreach (var t in columns[c].Times)
                        {
                            var start = table.BucketOf(t);
                            if (start != last && !state.Buckets.ContainsKey(last = start))
                                toLoad.Add((state, start));
                        }
                    }
                }
            }
        }

        return toLoad.Select(item => (item.Item1, chunks.LoadBucket(item.Item1, item.Item2))).ToList();
    }

    /// <summary>The readings of one append (under the lock).</summary>
    private AppendResult ApplyReadings(PendingAppend pending, List<LogEntry> logged, List<SeriesState> touched)
    {
        var readings = pending.Readings;
        var stored = new List<Reading>(readings.Length);
        List<Reading>? conflicts = null;
        List<StoredCorrection>? corrections = null;
        var counts = default(PutCounts);
        var superseded = 0;
        for (var i = 0; i < readings.Length; i++)
        {
            var reading = readings[i];
            var state = pending.States![i];
            if (state is null && !table.Series.TryGetValue(reading.Series, out state))
            {
                state = table.Create(reading.Series, reading.Unit, reading.TimestampMs, reading.Value);
                _journal?.CreatedSeries.Add(state);
            }
            else if (!string.Equals(state.Info.Unit, reading.Unit, StringComparison.Ordinal))
            {
                (conflicts ??= []).Add(reading);
                continue;
            }

            var t = reading.TimestampMs;
            var start = table.BucketOf(t);
            if (!state.Buckets.TryGetValue(start, out var buffer))
                buffer = NewBucket(state, start);
            if (pending.Kind == AppendKind.Local)
            {
                var put = PutLocal(state, buffer, reading, logged, touched);
                if (put == LocalPut.Updated)
                    (corrections ??= []).Add(new StoredCorrection(stored.Count, logged[^1].Stamp!.Value.Hlc));
                if (counts.Add(put))
                    stored.Add(reading);
                continue;
            }

            var found = buffer.TryFind(t, out var old, out var oldStamp);
            var sameValue = found && BitConverter.DoubleToInt64Bits(old) == BitConverter.DoubleToInt64Bits(reading.Value);
            var given = pending.Stamps![i] ?? WriteStamp.FirstWrite(t, origins.LocalName);
            var stamp = new PointStamp(given.Hlc, origins.IdOf(given.Origin));
            clock.Observe(given.Hlc);
            if (pending.Kind == AppendKind.Merge && found)
            {
                var order = WriteStamp.Compare(given, reading.Value, new WriteStamp(oldStamp.Hlc, origins.NameOf(oldStamp.Origin)), old);
                if (order <= 0)
                {
                    if (order < 0)
                        superseded++;
                    else
                        counts.Duplicates++;
                    continue;
                }
            }

            var added = Put(buffer, t, reading.Value, stamp, found, old, oldStamp);
            if (pending.Kind != AppendKind.Replay)
                logged.Add(new LogEntry(reading, stamp == PointStamp.FirstWrite(t, origins.Local) ? null : new WriteStamp(stamp.Hlc, origins.NameOf(stamp.Origin)), state.Id, state.Catalogued));
            if (sameValue)
            {
                // Only the stamp moved on (a merged write of the same value): kept so that later writes compare
                // against it, but nothing a reader sees changed.
                counts.Duplicates++;
                continue;
            }

            if (state.Apply(reading, added))
                touched.Add(state);
            stored.Add(reading);
            if (added)
                counts.Inserted++;
            else
                counts.Updated++;
        }

        return new AppendResult(stored, counts.Inserted, counts.Updated, counts.Duplicates, (IReadOnlyList<Reading>?)conflicts ?? [])
        {
            Superseded = superseded,
            Corrections = (IReadOnlyList<StoredCorrection>?)corrections ?? [],
        };
    }

    /// <summary>
    /// The columns of one append, a series at a time: its state and each bucket are looked up once per run of
    /// points, not once per point. Stored columns are the given ones when every point was stored.
    /// </summary>
    private ColumnsAppendResult ApplyColumns(PendingAppend pending, List<LogEntry> logged, List<SeriesState> touched)
    {
        var columns = pending.Columns!;
        var stored = new List<SeriesColumns>(columns.Length);
        List<SeriesColumns>? conflicts = null;
        List<ColumnCorrection>? corrections = null;
        var counts = default(PutCounts);
        for (var c = 0; c < columns.Length; c++)
        {
            var series = columns[c];
            if (series.Count == 0)
                continue;
            var state = pending.ColumnStates![c];
            if (state is null && !table.Series.TryGetValue(series.Series, out state))
            {
                state = table.Create(series.Series, series.Unit, series.Times[0], series.Values[0]);
                _journal?.CreatedSeries.Add(state);
            }
            else if (!string.Equals(state.Info.Unit, series.Unit, StringComparison.Ordinal))
            {
                (conflicts ??= []).Add(series);
                continue;
            }

            BucketBuffer? buffer = null;
            long bucketStart = 0, bucketEnd = 0;
            bool[]? duplicate = null;
            var kept = 0;
            for (var i = 0; i < series.Times.Length; i++)
            {
                var t = series.Times[i];
                if (buffer is null || t < bucketStart || t >= bucketEnd)
                {
                    bucketStart = table.BucketOf(t);
                    bucketEnd = bucketStart + table.BucketMs;
                    if (!state.Buckets.TryGetValue(bucketStart, out buffer))
                        buffer = NewBucket(state, bucketStart);
                }

                var put = PutLocal(state, buffer, new Reading(series.Series, t, series.Values[i], series.Unit), logged, touched);
                if (put == LocalPut.Updated)
                    (corrections ??= []).Add(new ColumnCorrection(series.Series, t, logged[^1].Stamp!.Value.Hlc));
                if (counts.Add(put))
                    kept++;
                else
                    (duplicate ??= new bool[series.Times.Length])[i] = true;
            }

            if (duplicate is null)
            {
                stored.Add(series);
            }
            else if (kept > 0)
            {
                var times = new long[kept];
                var values = new double[kept];
                for (int i = 0, k = 0; i < duplicate.Length; i++)
                {
                    if (!duplicate[i])
                        (times[k], values[k++]) = (series.Times[i], series.Values[i]);
                }

                stored.Add(series with { Times = times, Values = values });
            }
        }

        return new ColumnsAppendResult(stored, counts.Inserted, counts.Updated, counts.Duplicates, (IReadOnlyList<SeriesColumns>?)conflicts ?? [])
        {
            Corrections = (IReadOnlyList<ColumnCorrection>?)corrections ?? [],
        };
    }

    /// <summary>Puts a point written here into its bucket (under the lock): a new point gets its first-write stamp, a changed value the next clock value.</summary>
    private LocalPut PutLocal(SeriesState state, BucketBuffer buffer, in Reading reading, List<LogEntry> logged, List<SeriesState> touched)
    {
        var t = reading.TimestampMs;
        var found = buffer.TryFind(t, out var old, out var oldStamp);
        if (found && BitConverter.DoubleToInt64Bits(old) == BitConverter.DoubleToInt64Bits(reading.Value))
            return LocalPut.Duplicate;

        // A correction here is ordered after the value it corrects, wherever that was written.
        if (found)
            clock.Observe(oldStamp.Hlc);
        var stamp = found ? new PointStamp(clock.Next(), origins.Local) : PointStamp.FirstWrite(t, origins.Local);
        var added = Put(buffer, t, reading.Value, stamp, found, old, oldStamp);
        logged.Add(new LogEntry(reading, found ? new WriteStamp(stamp.Hlc, origins.NameOf(stamp.Origin)) : null, state.Id, state.Catalogued));
        if (state.Apply(reading, added))
            touched.Add(state);
        return added ? LocalPut.Inserted : LocalPut.Updated;
    }

    /// <summary>A new, empty buffer for a bucket not in memory (under the lock).</summary>
    private BucketBuffer NewBucket(SeriesState state, long start)
    {
        var buffer = new BucketBuffer(start);
        state.Buckets[start] = buffer;
        _journal?.CreatedBuckets.Add((state, start, buffer));
        return buffer;
    }

    /// <summary>Puts a point into its bucket (under the lock), noting for <see cref="Undo"/> what was there.</summary>
    private bool Put(BucketBuffer buffer, long t, double value, PointStamp stamp, bool found, double old, PointStamp oldStamp)
    {
        if (_journal is { } undo)
        {
            undo.Buffers.TryAdd(buffer, (buffer.Dirty, buffer.UsualOrigin));
            undo.Points.Add((buffer, t, found, old, oldStamp));
        }

        var added = buffer.Put(t, value, stamp);
        buffer.Dirty = true;
        _pointsSinceCheckpoint++;
        return added;
    }

    private struct PutCounts
    {
        public int Inserted;
        public int Updated;
        public int Duplicates;

        /// <summary>Counts one outcome; false for a duplicate (nothing stored).</summary>
        public bool Add(LocalPut put)
        {
            switch (put)
            {
                case LocalPut.Duplicate:
                    Duplicates++;
                    return false;
                case LocalPut.Inserted:
                    Inserted++;
                    return true;
                default:
                    Updated++;
                    return true;
            }
        }
    }
}
