using System.Collections.Concurrent;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Sync;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests.Sync;

/// <summary>
/// A seeded, deterministic run of N hubs' sync state machines over a simulated network that loses, duplicates,
/// delays (reorders) and corrupts messages, splits into partitions, and restarts hubs (everything but what they
/// persisted is lost); one hub's clock may run 10 minutes ahead, and a hub may be cloned from an old backup (a twin
/// with the same key, which forks its streams). Then the network heals and every hub ticks until all agree. The
/// result says what each hub holds and how it got there; <see cref="Check"/> compares it with the oracle.
/// </summary>
internal sealed class GridSimulation
{
    private const long MaxSkewMs = 300_000;
    private static readonly string[] Series = ["weather1/temperature", "weather1/humidity", "van/speed", "home/power"];

    // Verification is a pure function of the bytes (the grants do not change here), so all hubs of all runs share
    // its answers: each delta's signature is checked once, which keeps 10,000 runs fast.
    private static readonly ConcurrentDictionary<(Hash256, Hash256), DeltaRefusal?> Verified = new();

    private readonly Random _random;
    private readonly List<Hub> _hubs = [];
    private readonly PriorityQueue<(int From, int To, byte[] Bytes), (long Due, int Order)> _network = new();
    private readonly Dictionary<Hash256, SignedDelta> _created = [];
    private readonly double _loss, _duplication, _corruption;
    private readonly int _maxDelay;
    private readonly long _catchUpBytes;
    private readonly bool _archived;
    private readonly CatchUpMode? _mode;
    private int[] _groups;
    private long _step;
    private long _timeMs = TestGrid.T0;

    public GridSimulation(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
        var count = _random.Next(2, 5);
        var offsets = Enumerable.Range(0, count).Select(_ => _random.NextDouble() < 0.15 ? 600_000L : 0).ToList();
        _loss = _random.NextDouble() * 0.3;
        _duplication = _random.NextDouble() * 0.2;
        _corruption = _random.NextDouble() < 0.3 ? 0.05 : 0;
        _maxDelay = _random.Next(1, 12);
        _mode = _random.Next(3) switch { 0 => CatchUpMode.Vectors, 1 => CatchUpMode.Reconciliation, _ => null };

        // Drawn after the rest, so a seed keeps the network and hubs it had before these were added.
        // A third of the runs catch up in rounds of a delta or two, so every answer is cut and pulled on.
        _catchUpBytes = _random.Next(3) == 0 ? _random.Next(1, 600) : 4 << 20;

        // Half the runs keep the log as a hub does: saved after every step, only tops and heads in memory.
        _archived = _random.Next(2) == 0;
        for (var i = 0; i < count; i++)
            _hubs.Add(new Hub(i, i, offsets[i], null, _catchUpBytes, _archived ? new MemoryDeltaArchive() : null));
        _groups = new int[count];
    }

    public int Seed { get; }

    public int Messages { get; private set; }

    public int HealRounds { get; private set; }

    public int Forks => _hubs[0].Node.Store.Proofs.Count();

    public int Deltas => _created.Count;

    public void Run(int chaosSteps)
    {
        var twinAt = _random.NextDouble() < 0.2 ? _random.Next(chaosSteps) : -1;
        (PersistedSync Sync, MemoryDeltaArchive? Archive)? backup = null;
        var backupOf = 0;
        for (_step = 0; _step < chaosSteps; _step++)
        {
            _timeMs += _random.Next(100, 3000);
            if (_step == chaosSteps / 3)
            {
                backupOf = _random.Next(_hubs.Count);
                backup = _hubs[backupOf].Backup();
            }

            if (_step == twinAt && backup is not null)
                _hubs.Add(new Hub(_hubs.Count, _hubs[backupOf].Key, _hubs[backupOf].ClockOffsetMs, backup.Value.Sync, _catchUpBytes, backup.Value.Archive?.Clone()));
            if (_groups.Length < _hubs.Count)
                _groups = [.. _groups, 0];

            var hub = _hubs[_random.Next(_hubs.Count)];
            var roll = _random.NextDouble();
            if (hub.DownUntil > _step)
            {
                // A stopped hub does nothing.
            }
            else if (roll < 0.2)
                Write(hub);
            else if (roll < 0.5)
                Tick(hub, _mode ?? (_random.Next(2) == 0 ? CatchUpMode.Vectors : CatchUpMode.Reconciliation));
            else if (roll < 0.58)
                _groups = [.. _hubs.Select(_ => _random.Next(1, 4))];
            else if (roll < 0.63)
                Restart(hub);
            Deliver(_step, lossy: true);
        }

        Heal();
    }

    /// <summary>Every hub holds exactly the oracle's deltas and proofs, and the same merged points.</summary>
    public bool Archived => _archived;

    public string? Check()
    {
        var expected = Expected(out var forks);
        string? Fail(string what) => $"seed {Seed}: {what}";
        string h0proofs() => string.Join(";", _hubs.Select(h => string.Join("/", h.Node.Store.Proofs.Select(p => p.Seq))));
        foreach (var hub in _hubs)
        {
            var applied = hub.Node.Store.Applied.Select(d => d.Id).ToHashSet();
            if (!applied.SetEquals(expected))
                return Fail($"hub {hub.Index} holds {applied.Count} deltas, {applied.Except(expected).Count()} unexpected, {expected.Except(applied).Count()} missing"
                    + $" ({string.Join(", ", expected.Except(applied).Select(id => _created[id]).Select(d => $"{d.Header.Origin.ToString()[..4]}/{d.Header.Series}#{d.Header.Seq} hlc {d.Header.Hlc >> 16} held by [{string.Join(",", _hubs.Select(h => h.Node.Store.Find(d.Id) is not null ? "A" : h.Node.Store.Holds(d) ? "H" : "-"))}] tops [{string.Join(",", _hubs.Select(h => h.Node.Store.Stream(StreamKey.Of(d.Header))?.Top))}] down [{string.Join(",", _hubs.Select(h => h.DownUntil))}] step {_step}, proofs {h0proofs()}"))})"
                    + $" hubs {_hubs.Count}, mode {_mode}, now {_timeMs}, offsets {string.Join(",", _hubs.Select(h => h.ClockOffsetMs))}, rounds {HealRounds}");
            var proofs = hub.Node.Store.Proofs.ToList();
            if (proofs.Count != forks.Count || proofs.Any(p => forks.GetValueOrDefault(new StreamKey(p.Origin, p.Stream)) != p.Seq))
                return Fail($"hub {hub.Index} knows forks at [{string.Join(", ", proofs.Select(p => p.Seq))}], the oracle [{string.Join(", ", forks.Values)}]");
            if (proofs.Zip(_hubs[0].Node.Store.Proofs).Any(p => p.First.CompareTo(p.Second) != 0))
                return Fail($"hub {hub.Index} keeps another proof than hub 0");
            if (hub.Node.Store.HeldFutureCount > 0 || hub.Node.Store.Streams.Any(s => s.HeldForGap.Any()))
                return Fail($"hub {hub.Index} still holds deltas back");
        }

        var contents = _hubs.Select(Content).ToList();
        for (var i = 1; i < contents.Count; i++)
        {
            var differing = contents[i].Where(p => !contents[0].TryGetValue(p.Key, out var v) || v != p.Value).Select(p => p.Key).ToList();
            if (differing.Count > 0 || contents[i].Count != contents[0].Count)
            {
                var (series, time) = differing.FirstOrDefault();
                return Fail($"hub {i} merged {contents[i].Count} points, hub 0 {contents[0].Count}; {differing.Count} differ, e.g. {series} at {time}: {contents[i].GetValueOrDefault((series, time))} against {contents[0].GetValueOrDefault((series, time))}");
            }
        }

        return null;
    }

    private void Write(Hub hub)
    {
        var series = Series[_random.Next(Series.Length)];
        // Few distinct times, so two hubs often write the same point, with the same or a conflicting value.
        var times = Enumerable.Range(0, _random.Next(1, 4)).Select(_ => TestGrid.T0 + _random.Next(0, 20) * 1000L).Distinct().Order().ToArray();
        var values = times.Select(_ => _random.Next(0, 3) / 10.0).ToArray();
        var output = new List<Outgoing>();
        var delta = hub.Node.Write(series, ResolutionTier.Raw, times[0], times[^1] + 1, ChunkCodec.Encode(times, values), _timeMs + hub.ClockOffsetMs, Peers(hub), output);
        if (delta is not null)
            _created[delta.Id] = delta;
        Send(hub, output);
        Drain(hub);
    }

    private void Tick(Hub hub, CatchUpMode mode)
    {
        var output = new List<Outgoing>();
        hub.Node.Tick(_timeMs + hub.ClockOffsetMs, Peers(hub), mode, output);
        Send(hub, output);
        Drain(hub);
    }

    private void Restart(Hub hub)
    {
        hub.Restart(_step + _random.Next(1, 10));
        Drain(hub);
    }

    private void Send(Hub from, List<Outgoing> output)
    {
        foreach (var message in output)
        {
            Messages++;
            _network.Enqueue((from.Index, message.To, message.Message), (_step + _random.Next(0, _maxDelay), _random.Next()));
        }
    }

    private void Deliver(long until, bool lossy)
    {
        var delivered = 0;
        while (_network.TryPeek(out _, out var at) && at.Due <= until)
        {
            if (++delivered > 2_000_000)
                throw new InvalidOperationException($"seed {Seed}: messages never stop");
            var (from, to, bytes) = _network.Dequeue();
            var target = _hubs[to];
            if (target.DownUntil > _step || _hubs[from].DownUntil > _step || _groups[from] != _groups[to])
                continue;
            if (lossy && _random.NextDouble() < _loss)
                continue;
            if (_random.NextDouble() < _duplication)
                _network.Enqueue((from, to, bytes), (_step + _random.Next(0, _maxDelay), _random.Next()));
            if (lossy && _random.NextDouble() < _corruption)
            {
                bytes = (byte[])bytes.Clone();
                bytes[_random.Next(bytes.Length)] ^= (byte)(1 << _random.Next(8));
            }

            var output = new List<Outgoing>();
            target.Node.Receive(from, bytes, _timeMs + target.ClockOffsetMs, Peers(target), output);
            Send(target, output);
            Drain(target);
        }
    }

    /// <summary>Links restored, hubs up, no loss: every hub ticks each round (a minute apart) until all agree.</summary>
    private void Heal()
    {
        _groups = new int[_hubs.Count];
        for (HealRounds = 1; HealRounds <= 60; HealRounds++)
        {
            _step += _maxDelay + 1;
            _timeMs += 60_000;
            var mode = _mode ?? (HealRounds % 2 == 0 ? CatchUpMode.Vectors : CatchUpMode.Reconciliation);
            foreach (var hub in _hubs)
            {
                if (hub.DownUntil > _step)
                    hub.DownUntil = 0;
                Tick(hub, mode);
            }

            Deliver(long.MaxValue, lossy: false);
            if (Agreed())
                return;
        }
    }

    private bool Agreed()
    {
        var first = _hubs[0].Node.Store;
        var ids = first.Applied.Select(d => d.Id).ToHashSet();
        return _hubs.All(h => h.Node.Store.HeldFutureCount == 0 && h.Node.Store.Applied.Count() == ids.Count
            && h.Node.Store.Applied.All(d => ids.Contains(d.Id)) && h.Node.Store.Proofs.Count() == first.Proofs.Count());
    }

    /// <summary>The oracle: every delta created, except at and above the lowest seq of a stream that has two versions.</summary>
    private HashSet<Hash256> Expected(out Dictionary<StreamKey, ulong> forks)
    {
        forks = _created.Values.GroupBy(d => (StreamKey.Of(d.Header), d.Header.Seq)).Where(g => g.Count() > 1)
            .GroupBy(g => g.Key.Item1).ToDictionary(g => g.Key, g => g.Min(x => x.Key.Seq));
        var f = forks;
        return [.. _created.Values.Where(d => !f.TryGetValue(StreamKey.Of(d.Header), out var seq) || d.Header.Seq < seq).Select(d => d.Id)];
    }

    /// <summary>The points a hub merged, in the order it applied deltas: per (series, time) the winning stamp's value.</summary>
    private static Dictionary<(string, long), (long Hlc, string Origin, long Bits)> Content(Hub hub)
    {
        var held = hub.Node.Store.Applied.Select(d => d.Id).ToHashSet();
        var points = new Dictionary<(string, long), (long Hlc, string Origin, long Bits)>();
        foreach (var delta in hub.ApplyOrder.Where(d => held.Contains(d.Id)))
        {
            var (times, values) = ChunkCodec.Decode(delta.Body);
            var stamp = new WriteStamp(delta.Header.Hlc, delta.Header.Origin.ToString());
            for (var i = 0; i < times.Length; i++)
            {
                var key = (delta.Header.Series, times[i]);
                if (!points.TryGetValue(key, out var old)
                    || WriteStamp.Compare(stamp, values[i], new WriteStamp(old.Hlc, old.Origin), BitConverter.Int64BitsToDouble(old.Bits)) > 0)
                    points[key] = (stamp.Hlc, stamp.Origin, BitConverter.DoubleToInt64Bits(values[i]));
            }
        }

        return points;
    }

    private List<int> Peers(Hub hub) => [.. _hubs.Where(h => h != hub).Select(h => h.Index)];

    /// <summary>The host's part after every step: the points merged (in apply order), then the log saved.</summary>
    private static void Drain(Hub hub)
    {
        var changes = hub.Node.DrainChanges();
        foreach (var change in changes)
        {
            if (change.Withdrawn)
                hub.ApplyOrder.RemoveAll(d => d.Id == change.Delta.Id);
            else
                hub.ApplyOrder.Add(change.Delta);
        }

        if (hub.Archive is { } archive)
        {
            archive.Withdraw(changes.Where(c => c.Withdrawn).Select(c => c.Delta));
            archive.Save(changes.Where(c => !c.Withdrawn).Select(c => c.Delta));
            hub.Node.Store.MarkSaved();
        }
    }

    private static DeltaRefusal? VerifyOnce(SignedDelta delta) =>
        Verified.GetOrAdd((delta.Id, Hash256.Of(delta.Signature)), _ => TestGrid.Verifier.Verify(delta));

    private sealed class Hub
    {
        private readonly long _catchUpBytes;

        public Hub(int index, int key, long clockOffsetMs, PersistedSync? restored, long catchUpBytes, MemoryDeltaArchive? archive)
        {
            _catchUpBytes = catchUpBytes;
            Archive = archive;
            Index = index;
            Key = key;
            ClockOffsetMs = clockOffsetMs;
            Node = Start(restored);
            // A restored backup brings its store's points with it.
            ApplyOrder.AddRange(Node.Store.Applied);
        }

        public int Index { get; }

        public int Key { get; }

        public long ClockOffsetMs { get; }

        public SyncNode Node { get; private set; }

        public long DownUntil { get; set; }

        /// <summary>The hub's saved log (its disk), or null when the whole log lives in memory and <see cref="SyncNode.Persist"/> stands for the disk.</summary>
        public MemoryDeltaArchive? Archive { get; }

        public (PersistedSync Sync, MemoryDeltaArchive? Archive) Backup() =>
            Archive is null ? (Node.Persist(), null) : (new PersistedSync([], [.. Node.Store.Proofs.Select(p => p.Encode())], Node.LastHlc), Archive.Clone());

        public List<SignedDelta> ApplyOrder { get; } = [];

        /// <summary>
        /// A crash: what was applied is durable (deltas are persisted, and their points merged, as they apply), so
        /// the merged points stay; held deltas, sessions and messages in flight are gone.
        /// </summary>
        public void Restart(long downUntil)
        {
            Node = Start(Backup().Sync);
            DownUntil = downUntil;
        }

        private SyncNode Start(PersistedSync? restored) =>
            new(TestGrid.Hubs[Key], TestGrid.Verifier, new SyncOptions { MaxSkewMs = MaxSkewMs, CatchUpBytes = _catchUpBytes }, restored, VerifyOnce, Archive);
    }
}
