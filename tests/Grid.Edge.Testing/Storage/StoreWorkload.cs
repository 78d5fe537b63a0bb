using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Testing.Storage;

/// <summary>
/// A small seeded workload against a store, as devices would send it: lanes appending in turn (new points, late
/// points into older buckets, resent duplicates, corrections, columns), checkpoints in between; it keeps every
/// value tried for every point and which were acknowledged. <see cref="VerifyAsync"/> then checks a store opened
/// afterwards: every acknowledged reading is there (with its value, or a value tried after it), and nothing is
/// there that was never written.
/// </summary>
internal sealed class StoreWorkload(int seed, int lanes = 3, int appendsPerLane = 12)
{
    // An hour boundary a few hours back: late points land in earlier buckets, all well inside the default retention.
    private static readonly long T0 = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 3_600_000 - 3) * 3_600_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<(SeriesKey Series, long T), List<(double Value, bool Acked)>> _tried = [];

    public int Acknowledged { get; private set; }

    /// <summary>Appends that failed (their senders would resend).</summary>
    public int Failures { get; private set; }

    /// <summary>
    /// Runs the lanes. A failed append is given up (a power cut) or, with <paramref name="retry"/>, sent again
    /// until it is acknowledged; <paramref name="afterRetry"/> runs right after such a resend was acknowledged.
    /// </summary>
    public async Task RunAsync(ChunkedTimeSeriesStore store, bool retry = false, Func<Task>? afterRetry = null, Func<int, Task>? beforeAppend = null)
    {
        if (retry)
        {
            // One lane at a time: the fault tests replay the same operations for every N.
            for (var lane = 0; lane < lanes; lane++)
                await RunLaneAsync(store, lane, retry, afterRetry, beforeAppend);
            return;
        }

        await Task.WhenAll(Enumerable.Range(0, lanes).Select(lane => Task.Run(() => RunLaneAsync(store, lane, retry, afterRetry, beforeAppend))));
    }

    private async Task RunLaneAsync(ChunkedTimeSeriesStore store, int lane, bool retry, Func<Task>? afterRetry, Func<int, Task>? beforeAppend)
    {
        var random = new Random(seed * 31 + lane);
        var series = new[] { new SeriesKey($"lane{lane}", "a"), new SeriesKey($"lane{lane}", "b") };
        var next = new long[series.Length];
        var written = new List<(SeriesKey Series, long T)>();
        for (var n = 0; n < appendsPerLane; n++)
        {
            if (beforeAppend is not null)
                await beforeAppend(lane * appendsPerLane + n);
            if (lane == 0 && n % 5 == 4)
            {
                if (!await TryAsync(() => store.CheckpointAsync(), retry, afterRetry))
                    return;
                continue;
            }

            var readings = new List<Reading>();
            var columns = random.Next(5) == 0;
            var count = random.Next(1, 7);
            for (var i = 0; i < count; i++)
            {
                var s = random.Next(series.Length);
                var kind = columns || written.Count == 0 ? 0 : random.Next(10);
                (SeriesKey Series, long T) point = kind switch
                {
                    < 7 => (series[s], T0 + (next[s] += 1000)),
                    7 => (series[s], T0 - random.Next(1, 4) * 3_600_000L + random.Next(3_600_000)),
                    _ => written[random.Next(written.Count)],
                };
                double value;
                lock (_gate)
                {
                    value = kind == 8 && _tried.TryGetValue(point, out var earlier) ? earlier[^1].Value : Math.Round(random.NextDouble() * 100, random.Next(4));
                }

                if (readings.Any(r => r.Series == point.Series && r.TimestampMs == point.T))
                    continue;
                readings.Add(new Reading(point.Series, point.T, value, "u"));
                written.Add(point);
            }

            var attempt = Try(readings);
            var acked = columns
                ? await TryAsync(() => store.AppendColumnsAsync(readings.GroupBy(r => r.Series).Select(g => new SeriesColumns(g.Key, "u", [.. g.OrderBy(r => r.TimestampMs).Select(r => r.TimestampMs)], [.. g.OrderBy(r => r.TimestampMs).Select(r => r.Value)])).ToList()).AsTask(), retry, afterRetry)
                : await TryAsync(() => store.AppendAsync(readings).AsTask(), retry, afterRetry);
            if (!acked)
                return;
            Acknowledge(attempt);
        }
    }

    /// <summary>Notes the values tried; returns where, to mark them acknowledged.</summary>
    private List<(List<(double, bool)> Tries, int Index)> Try(List<Reading> readings)
    {
        lock (_gate)
        {
            var at = new List<(List<(double, bool)>, int)>();
            foreach (var reading in readings)
            {
                if (!_tried.TryGetValue((reading.Series, reading.TimestampMs), out var tries))
                    _tried[(reading.Series, reading.TimestampMs)] = tries = [];
                tries.Add((reading.Value, false));
                at.Add((tries, tries.Count - 1));
            }

            return at;
        }
    }

    private void Acknowledge(List<(List<(double Value, bool Acked)> Tries, int Index)> attempt)
    {
        lock (_gate)
        {
            foreach (var (tries, index) in attempt)
                tries[index] = (tries[index].Value, true);
            Acknowledged += attempt.Count;
        }
    }

    private async Task<bool> TryAsync(Func<Task> append, bool retry, Func<Task>? afterRetry = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var failed = false;
        while (true)
        {
            try
            {
                await append();
                if (failed && afterRetry is not null)
                    await afterRetry();
                return true;
            }
            catch (StoreWriteException)
            {
                lock (_gate)
                    Failures++;
                if (!retry)
                    return false;
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException("The store did not take the readings again within 20 s after the fault cleared.");
                failed = true;
                await Task.Delay(2);
            }
        }
    }

    /// <summary>Null when <paramref name="store"/> holds every acknowledged reading and nothing never written; else the first problem.</summary>
    public async Task<string?> VerifyAsync(ITimeSeriesStore store)
    {
        Dictionary<(SeriesKey Series, long T), List<(double Value, bool Acked)>> tried;
        lock (_gate)
            tried = _tried.ToDictionary(kv => kv.Key, kv => kv.Value.ToList());
        var stored = new Dictionary<(SeriesKey, long), double>();
        foreach (var series in tried.Keys.Select(k => k.Series).Distinct())
        {
            foreach (var point in await store.ReadRangeAsync(series, long.MinValue, long.MaxValue, int.MaxValue))
                stored[(series, point.TimestampMs)] = point.Value;
        }

        foreach (var (key, tries) in tried)
        {
            var lastAcked = tries.FindLastIndex(t => t.Acked);
            var found = stored.TryGetValue(key, out var value);
            if (lastAcked >= 0 && !found)
                return $"acknowledged reading {key.Series.Id} at {key.T} ({tries[lastAcked].Value}) is lost";
            if (found && !tries.Skip(Math.Max(0, lastAcked)).Any(t => BitConverter.DoubleToInt64Bits(t.Value) == BitConverter.DoubleToInt64Bits(value)))
                return $"{key.Series.Id} at {key.T} holds {value}, not its acknowledged value {(lastAcked >= 0 ? tries[lastAcked].Value : double.NaN)} or one written after it";
        }

        foreach (var (key, value) in stored)
        {
            if (!tried.ContainsKey(key))
                return $"{key.Item1.Id} at {key.Item2} holds {value}, which was never written";
        }

        return null;
    }
}
