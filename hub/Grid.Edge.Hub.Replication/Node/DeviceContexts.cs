using Grid.Edge.Hub.Replication.Deltas;

namespace Grid.Edge.Hub.Replication.Node;

/// <summary>
/// The context after the last delta this hub wrote or applied of each device stream, so the next one is coded or
/// decoded against it (<see cref="CodedDeviceBody"/>). Only a cache: a context missing here (after a restart, or
/// dropped for room) is rebuilt from the stream's deltas back to its last key body, and an author without one
/// writes a key body.
/// </summary>
internal sealed class DeviceContexts(int capacity = 20_000)
{
    private readonly Dictionary<StreamKey, (ulong Seq, DeviceContext Context)> _authored = [];
    private readonly Dictionary<StreamKey, (ulong Seq, DeviceContext Context)> _after = [];

    // Streams whose chain could not be read back or decoded from this seq on: their coded deltas are refused without
    // re-reading the chain each time, until a key body starts them again.
    private readonly Dictionary<StreamKey, ulong> _broken = [];

    /// <summary>What this hub's next delta of a stream whose top is <paramref name="top"/> is coded against; null: write a key body.</summary>
    public DeviceContext? ForAuthoring(StreamKey key, ulong top) =>
        _authored.TryGetValue(key, out var held) && held.Seq == top && held.Context.Depth + 1 < DeviceContext.KeyEvery ? held.Context : null;

    /// <summary>Records the context after this hub's own delta <paramref name="seq"/> of a stream (null: the next one is a key body).</summary>
    public void Authored(StreamKey key, ulong seq, DeviceContext? context)
    {
        if (context is null)
            _authored.Remove(key);
        else
            _authored[key] = (seq, context);
    }

    /// <summary>Records the context after applied delta <paramref name="seq"/> of a stream (null: it gives none to decode the next against).</summary>
    public void After(StreamKey key, ulong seq, DeviceContext? context)
    {
        if (context is null)
        {
            _after.Remove(key);
            _broken[key] = seq;
            return;
        }

        _broken.Remove(key);
        if (_after.Count >= capacity && !_after.ContainsKey(key))
        {
            // Room for the streams that are live: the others rebuild theirs when they next send.
            foreach (var stale in _after.OrderBy(e => e.Value.Seq).Take(capacity / 4).Select(e => e.Key).ToList())
                _after.Remove(stale);
        }

        _after[key] = (seq, context);
    }

    /// <summary>
    /// The context delta <paramref name="seq"/> of <paramref name="stream"/> is decoded against: the cached one, else
    /// rebuilt by decoding the stream from its last key body; null when the chain cannot be read back.
    /// </summary>
    public DeviceContext? ForDecoding(StreamKey key, ulong seq, StreamLog? stream)
    {
        if (_after.TryGetValue(key, out var held) && held.Seq == seq - 1)
            return held.Context;
        if (stream is null || seq < 2 || (_broken.TryGetValue(key, out var broken) && seq > broken))
            return null;

        // Newest first, back to the key body; an origin that writes none is refused after MaxDepth anyway.
        var chain = new List<SignedDelta>();
        var oldest = seq > DeviceContext.MaxDepth + 1 ? seq - DeviceContext.MaxDepth - 1 : 1;
        var found = false;
        for (var end = seq - 1; end >= oldest && !found;)
        {
            var start = Math.Max(oldest, end >= DeviceContext.KeyEvery ? end - DeviceContext.KeyEvery + 1 : 1);
            var page = stream.Range(start, (int)(end - start + 1));
            if (page.Count != (int)(end - start + 1))
                return Broken(key, seq);
            for (var i = page.Count - 1; i >= 0 && !found; i--)
            {
                if (!CodedDeviceBody.Is(page[i].Body))
                    return Broken(key, seq);
                chain.Add(page[i]);
                found = !CodedDeviceBody.NeedsContext(page[i].Body);
            }

            end = start - 1;
        }

        if (!found)
            return Broken(key, seq);
        DeviceContext? context = null;
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            DeviceBody.TryDecode(chain[i].Body, chain[i].Header, context, out var next, out _);
            if (next is null)
                return Broken(key, seq);
            context = next;
        }

        After(key, seq - 1, context);
        return context;
    }

    private DeviceContext? Broken(StreamKey key, ulong seq)
    {
        _broken[key] = seq - 1;
        return null;
    }
}
