using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// Makes this hub's next delta of one stream: the next seq, chained to the last delta's id. The caller must persist
/// the delta (its own log) before it is sent anywhere; after a restart the author resumes from the persisted last
/// delta, because signing a second, different delta at a seq already used is a fork and freezes the stream.
/// </summary>
internal sealed class StreamAuthor(Id128 grid, string series, ResolutionTier tier, HubKeys keys, SignedDelta? last = null)
{
    private ulong _seq = last?.Header.Seq ?? 0;
    private Hash256 _previous = last?.Id ?? Hash256.Zero;

    public Id128 Stream { get; } = DeltaHeader.StreamIdOf(series, tier);

    public SignedDelta Next(long hlc, long t0, long t1, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var header = new DeltaHeader(grid, Stream, keys.HubId, series, tier, _seq + 1, _previous, hlc, t0, t1, keys.KeyId, (uint)body.Length, Hash256.Of(body));
        var delta = SignedDelta.Sign(header, body, keys);
        _seq = header.Seq;
        _previous = delta.Id;
        return delta;
    }
}
