using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Catchup;

/// <summary>
/// Per (origin, stream), the highest seq a hub holds with all its predecessors and that delta's id (Scuttlebutt's
/// version vector, plus the head). Two hubs that swap vectors know exactly which deltas the other lacks: one round
/// trip, nothing sent twice, nothing asked for by id. The head id is what reveals a fork between two hubs that hold
/// equally long but different histories of a stream (a cloned hub): seqs alone would call them in sync. Layout:
/// <c>GEV1</c>, entry count (varint), then per entry in strictly increasing key order: origin (16), stream (16),
/// top seq (varint, at least 1), head id (32).
/// </summary>
internal sealed class VersionVector
{
    private static ReadOnlySpan<byte> Magic => "GEV1"u8;

    private const int EntryMinSize = 16 + 16 + 1 + 32;

    private readonly SortedDictionary<StreamKey, (ulong Top, Hash256 Head)> _tops;

    private VersionVector(SortedDictionary<StreamKey, (ulong Top, Hash256 Head)> tops) => _tops = tops;

    public IReadOnlyDictionary<StreamKey, (ulong Top, Hash256 Head)> Entries => _tops;

    public static VersionVector Of(DeltaStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var tops = new SortedDictionary<StreamKey, (ulong, Hash256)>();
        foreach (var stream in store.Streams)
        {
            if (stream.Top > 0)
                tops[stream.Key] = (stream.Top, stream.Head!.Id);
        }

        return new VersionVector(tops);
    }

    public (ulong Top, Hash256 Head) Entry(StreamKey key) => _tops.GetValueOrDefault(key);

    public byte[] Encode()
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.Varint((ulong)_tops.Count);
        foreach (var (key, (top, head)) in _tops)
        {
            w.Id(key.Origin);
            w.Id(key.Stream);
            w.Varint(top);
            w.Hash(head);
        }

        return w.ToArray();
    }

    /// <summary>A short digest of the whole vector: two hubs in sync learn it from 32 bytes each way.</summary>
    public Hash256 Digest() => Hash256.Of(Encode());

    public static VersionVector? TryDecode(ReadOnlySpan<byte> data, int maxEntries, out string? error)
    {
        var reader = new WireReader(data);
        var tops = new SortedDictionary<StreamKey, (ulong, Hash256)>();
        if (!reader.Bytes(4, "magic", out var magic) || !magic.SequenceEqual(Magic))
            reader.Fail("not a version vector (magic is not 'GEV1')");
        else if (reader.Varint("entry count", out var count))
        {
            if (count > (ulong)maxEntries || count > (ulong)reader.Remaining / EntryMinSize)
                reader.Fail($"{count} entries claimed, at most {Math.Min(maxEntries, reader.Remaining / EntryMinSize)} possible");
            StreamKey? previous = null;
            for (var i = 0UL; i < count && reader.Error is null; i++)
            {
                if (!reader.Id("origin", out var origin) || !reader.Id("stream", out var stream) || !reader.Varint("top", out var top) || !reader.Hash("head", out var head))
                    break;
                var key = new StreamKey(origin, stream);
                if (previous is { } p && p.CompareTo(key) >= 0)
                    reader.Fail("entries are not in strictly increasing key order");
                else if (top == 0 || top > long.MaxValue)
                    reader.Fail($"top seq {top} is outside 1..2^63-1");
                tops[key] = (top, head);
                previous = key;
            }

            reader.End("last entry");
        }

        error = reader.Error;
        return error is null ? new VersionVector(tops) : null;
    }
}

/// <summary>Plans a catch-up from two vectors.</summary>
internal static class CatchUpPlanner
{
    /// <summary>
    /// Exactly the deltas <paramref name="mine"/> holds applied that a hub with vector <paramref name="theirs"/>
    /// lacks, per stream in seq order (so they apply as they arrive). Deltas at or above a fork this hub knows are
    /// not held and so never sent; fork proofs travel before vectors, so the peer has frozen the same streams.
    /// When the peer's head is not our delta at that seq, ours at that seq goes too: the peer finds the fork.
    /// </summary>
    public static List<SignedDelta> Missing(DeltaStore mine, VersionVector theirs) => Plan(mine, theirs, long.MaxValue, out _);

    /// <summary>
    /// As <see cref="Missing"/>, but at most about <paramref name="maxBytes"/> (always at least one delta), taken a
    /// delta from each stream in turn so that a week of one busy series does not hold back every other series'
    /// catch-up. <paramref name="more"/> says that deltas were left out: the peer asks again with its new vector.
    /// </summary>
    /// <param name="include">Which of the streams the peer lacks to send now (all when null).</param>
    public static List<SignedDelta> Plan(DeltaStore mine, VersionVector theirs, long maxBytes, out bool more, Func<StreamKey, ulong, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(mine);
        ArgumentNullException.ThrowIfNull(theirs);
        var ranges = Gaps(mine, theirs).Where(g => include?.Invoke(g.Stream, g.From) ?? true).Select(g => new Cursor(mine.Stream(g.Stream)!, g.From)).ToList();

        var planned = new List<SignedDelta>();
        long bytes = 0;
        while (ranges.Count > 0)
        {
            foreach (var cursor in ranges)
            {
                var delta = cursor.Take();
                if (delta is null)
                    continue;
                if (planned.Count > 0 && bytes + delta.EncodedLength > maxBytes)
                {
                    more = true;
                    return SeqOrder(planned);
                }

                planned.Add(delta);
                bytes += delta.EncodedLength;
            }

            ranges.RemoveAll(r => r.Done);
        }

        more = false;
        return SeqOrder(planned);
    }

    /// <summary>Per stream, the seqs a hub with vector <paramref name="theirs"/> lacks (from its top, or from a head that is not ours).</summary>
    public static List<(StreamKey Stream, ulong From, ulong To)> Gaps(DeltaStore mine, VersionVector theirs)
    {
        ArgumentNullException.ThrowIfNull(mine);
        ArgumentNullException.ThrowIfNull(theirs);
        var gaps = new List<(StreamKey, ulong, ulong)>();
        foreach (var stream in mine.Streams)
        {
            var (top, head) = theirs.Entry(stream.Key);
            var from = top + 1;
            if (top >= 1 && top <= stream.Top && stream.IdAt(top) != head)
                from = top;
            if (from <= stream.Top)
                gaps.Add((stream.Key, from, stream.Top));
        }

        return gaps;
    }

    /// <summary>A stream's deltas from a seq on, read from the archive a few at a time as the plan takes them.</summary>
    private sealed class Cursor(StreamLog stream, ulong from)
    {
        private const int Batch = 32;
        private readonly Queue<SignedDelta> _buffer = new();
        private ulong _next = from;

        public bool Done => _buffer.Count == 0 && _next > stream.Top;

        public SignedDelta? Take()
        {
            if (_buffer.Count == 0 && _next <= stream.Top)
            {
                var read = stream.Range(_next, Batch);
                foreach (var delta in read)
                    _buffer.Enqueue(delta);

                // A range the archive no longer holds (taken out under us) ends this stream's part of the plan.
                _next = read.Count == 0 ? stream.Top + 1 : read[^1].Header.Seq + 1;
            }

            return _buffer.TryDequeue(out var next) ? next : null;
        }
    }

    /// <summary>Grouped per stream in seq order, so each applies as it arrives and none waits for a gap.</summary>
    private static List<SignedDelta> SeqOrder(List<SignedDelta> deltas) =>
        [.. deltas.OrderBy(d => StreamKey.Of(d.Header)).ThenBy(d => d.Header.Seq)];
}
