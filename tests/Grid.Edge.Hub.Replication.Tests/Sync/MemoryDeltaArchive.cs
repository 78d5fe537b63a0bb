using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Sync;

/// <summary>A hub's delta log as the simulation's disk: what the host saved survives a restart; the rest does not.</summary>
internal sealed class MemoryDeltaArchive : IDeltaArchive
{
    private readonly SortedDictionary<(StreamKey Stream, ulong Seq), SignedDelta> _bySeq = [];
    private readonly Dictionary<Hash256, SignedDelta> _byId = [];

    public long Count => _byId.Count;

    /// <summary>Reads since the last call that had to go to the "disk": a stream must not keep its history in memory.</summary>
    public int Reads { get; private set; }

    public void Save(IEnumerable<SignedDelta> deltas)
    {
        foreach (var delta in deltas)
        {
            if (_bySeq.TryAdd((StreamKey.Of(delta.Header), delta.Header.Seq), delta))
                _byId[delta.Id] = delta;
        }
    }

    public void Withdraw(IEnumerable<SignedDelta> deltas)
    {
        foreach (var delta in deltas)
        {
            if (_byId.Remove(delta.Id))
                _bySeq.Remove((StreamKey.Of(delta.Header), delta.Header.Seq));
        }
    }

    public MemoryDeltaArchive Clone()
    {
        var copy = new MemoryDeltaArchive();
        copy.Save(_bySeq.Values);
        return copy;
    }

    public IEnumerable<(StreamKey Stream, ulong Top, SignedDelta Head)> Heads() =>
        [.. _bySeq.GroupBy(e => e.Key.Stream).Select(g => g.MaxBy(e => e.Key.Seq)).Select(e => (e.Key.Stream, e.Key.Seq, e.Value))];

    public IReadOnlyList<SignedDelta> Range(StreamKey stream, ulong from, int count)
    {
        Reads++;
        var deltas = new List<SignedDelta>();
        for (var seq = from; deltas.Count < count && _bySeq.TryGetValue((stream, seq), out var delta); seq++)
            deltas.Add(delta);
        return deltas;
    }

    public Hash256? IdAt(StreamKey stream, ulong seq)
    {
        Reads++;
        return _bySeq.TryGetValue((stream, seq), out var delta) ? delta.Id : null;
    }

    public SignedDelta? Find(Hash256 id)
    {
        Reads++;
        return _byId.GetValueOrDefault(id);
    }

    public IEnumerable<ReconcileItem> Items() => [.. _byId.Values.Select(d => new ReconcileItem((ulong)d.Header.Hlc, d.Id)).Order()];
}
