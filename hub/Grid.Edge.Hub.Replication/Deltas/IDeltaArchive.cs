using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// Where applied deltas live once the host has saved them (<see cref="DeltaStore.MarkSaved"/>): a hub's history of
/// deltas does not fit in memory, so a stream keeps its top and head at hand and reads the rest from here when a peer
/// needs it. Reads only; the host writes, after it merged the deltas' points, and deletes what a fork withdrew.
/// </summary>
internal interface IDeltaArchive
{
    /// <summary>Every stream's highest saved seq and the delta there (its body may be left out).</summary>
    IEnumerable<(StreamKey Stream, ulong Top, SignedDelta Head)> Heads();

    /// <summary>The saved deltas of a stream from <paramref name="from"/> on, at most <paramref name="count"/>, ascending, with their bodies.</summary>
    IReadOnlyList<SignedDelta> Range(StreamKey stream, ulong from, int count);

    Hash256? IdAt(StreamKey stream, ulong seq);

    /// <summary>A saved delta by id, with its body.</summary>
    SignedDelta? Find(Hash256 id);

    /// <summary>(clock, id) of every saved delta, ascending, for set reconciliation.</summary>
    IEnumerable<ReconcileItem> Items();

    long Count { get; }
}
