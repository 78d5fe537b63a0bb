using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Catchup;

/// <summary>
/// Per (origin, stream), the highest seq a hub holds with all its predecessors (Scuttlebutt's version vector). Two
/// hubs that swap vectors know exactly which deltas the other lacks: one round trip, nothing sent twice, nothing
/// asked for by id. Layout: <c>GEV1</c>, entry count (varint), then per entry in strictly increasing key order:
/// origin (16), stream (16), top seq (varint, at least 1).
/// </summary>
internal sealed class VersionVector
{
    private static ReadOnlySpan<byte> Magic => "GEV1"u8;

    private readonly SortedDictionary<StreamKey, ulong> _tops;

    private VersionVector(SortedDictionary<StreamKey, ulong> tops) => _tops = tops;

    public IReadOnlyDictionary<StreamKey, ulong> Tops => _tops;

    public static VersionVector Of(DeltaStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var tops = new SortedDictionary<StreamKey, ulong>();
        foreach (var stream in store.Streams)
        {
            if (stream.Top > 0)
                tops[stream.Key] = stream.Top;
        }

        return new VersionVector(tops);
    }

    public ulong Top(StreamKey key) => _tops.GetValueOrDefault(key);

    public byte[] Encode()
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.Varint((ulong)_tops.Count);
        foreach (var (key, top) in _tops)
        {
            w.Id(key.Origin);
            w.Id(key.Stream);
            w.Varint(top);
        }

        return w.ToArray();
    }

    /// <summary>A short digest of the whole vector: two hubs in sync learn it from 32 bytes each way.</summary>
    public Hash256 Digest() => Hash256.Of(Encode());

    public static VersionVector? TryDecode(ReadOnlySpan<byte> data, int maxEntries, out string? error)
    {
        var reader = new WireReader(data);
        var tops = new SortedDictionary<StreamKey, ulong>();
        if (!reader.Bytes(4, "magic", out var magic) || !magic.SequenceEqual(Magic))
            reader.Fail("not a version vector (magic is not 'GEV1')");
        else if (reader.Varint("entry count", out var count))
        {
            if (count > (ulong)maxEntries || count > (ulong)reader.Remaining / 33)
                reader.Fail($"{count} entries claimed, at most {Math.Min(maxEntries, reader.Remaining / 33)} possible");
            StreamKey? previous = null;
            for (var i = 0UL; i < count && reader.Error is null; i++)
            {
                if (!reader.Id("origin", out var origin) || !reader.Id("stream", out var stream) || !reader.Varint("top", out var top))
                    break;
                var key = new StreamKey(origin, stream);
                if (previous is { } p && p.CompareTo(key) >= 0)
                    reader.Fail("entries are not in strictly increasing key order");
                else if (top == 0 || top > long.MaxValue)
                    reader.Fail($"top seq {top} is outside 1..2^63-1");
                tops[key] = top;
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
    /// </summary>
    public static List<SignedDelta> Missing(DeltaStore mine, VersionVector theirs)
    {
        ArgumentNullException.ThrowIfNull(mine);
        ArgumentNullException.ThrowIfNull(theirs);
        var missing = new List<SignedDelta>();
        foreach (var stream in mine.Streams)
        {
            for (var seq = theirs.Top(stream.Key) + 1; seq <= stream.Top; seq++)
                missing.Add(stream.At(seq)!);
        }

        return missing;
    }
}
