using System.Buffers.Binary;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// A delta as a live push carries it to a peer that holds the stream's previous delta: only what that one does not
/// give. Grid, stream, origin, series, tier and key come from the previous delta's header, previous is its id, body
/// length and hash come from the body; clock and window are sent as distances from the previous delta's. About 90
/// bytes instead of some 240 in front of each body: a device's live delta of a 100 ms gathering is mostly header.
/// The receiver rebuilds the canonical header and checks the signature as for any delta, so nothing here is
/// trusted. Layout: <c>GEC1</c>, the stream's 8-byte reference (<see cref="RefOf"/>), varint seq, the first 4 bytes
/// of the previous delta's id (a receiver holding another one there takes it as missing), zigzag varints of
/// clock - previous clock and t0 - previous t0, varint t1 - t0, signature (64), body (the rest).
/// </summary>
internal static class CompactDelta
{
    private static ReadOnlySpan<byte> Magic => "GEC1"u8;

    public static bool Is(ReadOnlySpan<byte> item) => item.StartsWith(Magic);

    /// <summary>8 bytes naming an (origin, stream): both ids are hashes, so their first halves XORed are as good as random.</summary>
    public static ulong RefOf(StreamKey stream)
    {
        Span<byte> bytes = stackalloc byte[Id128.Size];
        stream.Origin.Write(bytes);
        var origin = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        stream.Stream.Write(bytes);
        return origin ^ BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    /// <summary>Whether <paramref name="delta"/> can go compact after <paramref name="previous"/> (same stream, next seq, same key).</summary>
    public static bool Follows(SignedDelta delta, DeltaHeader previous)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(previous);
        var h = delta.Header;
        return h.Seq == previous.Seq + 1 && h.Origin == previous.Origin && h.Stream == previous.Stream && h.Grid == previous.Grid
            && h.KeyId == previous.KeyId && h.Series == previous.Series && h.Tier == previous.Tier;
    }

    public static byte[] Encode(SignedDelta delta, SignedDelta previous)
    {
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(previous);
        if (!Follows(delta, previous.Header) || delta.Header.Previous != previous.Id)
            throw new ArgumentException("the delta does not follow the previous one in its stream", nameof(delta));
        var h = delta.Header;
        var w = new WireWriter();
        w.Bytes(Magic);
        w.U64(RefOf(StreamKey.Of(h)));
        w.Varint(h.Seq);
        w.Bytes(previous.Id.ToBytes().AsSpan(0, 4));
        w.Varint(ZigZag(h.Hlc - previous.Header.Hlc));
        w.Varint(ZigZag(h.T0 - previous.Header.T0));
        w.Varint((ulong)(h.T1 - h.T0));
        w.Bytes(delta.Signature);
        w.Bytes(delta.Body);
        return w.ToArray();
    }

    /// <summary>
    /// The delta a compact item stands for, with <paramref name="previousOf"/> giving the receiver's delta before it
    /// (by stream reference and seq; null when it does not hold it). Null with the reason when the item is malformed
    /// or its previous delta is not here (<paramref name="missingPrevious"/>: a catch-up brings it in full).
    /// </summary>
    public static SignedDelta? TryDecode(ReadOnlySpan<byte> item, Func<ulong, ulong, SignedDelta?> previousOf, out bool missingPrevious, out string? error)
    {
        ArgumentNullException.ThrowIfNull(previousOf);
        missingPrevious = false;
        var reader = new WireReader(item);
        if (!reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic) || !reader.U64("stream reference", out var reference)
            || !reader.Varint("seq", out var seq) || !reader.Bytes(4, "previous id", out var previousId) || !reader.Varint("clock", out var hlc) || !reader.Varint("t0", out var t0) || !reader.Varint("window", out var span)
            || !reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature))
        {
            error = reader.Error ?? "not a compact delta";
            return null;
        }

        if (seq < 2 || seq > long.MaxValue || span > (ulong)DeltaHeader.MaxWindowMs || (long)reader.Remaining > DeltaHeader.MaxBodyLength)
        {
            error = "seq, window or body out of range";
            return null;
        }

        // Another delta at seq - 1 here than at the sender (a fork the sender's side took): not this one's previous.
        var previous = previousOf(reference, seq - 1);
        if (previous is null || !previous.Id.ToBytes().AsSpan(0, 4).SequenceEqual(previousId))
        {
            missingPrevious = true;
            error = $"the stream's delta {seq - 1} is not here";
            return null;
        }

        var p = previous.Header;
        var start = unchecked(p.T0 + UnZigZag(t0));
        var body = item[reader.Position..].ToArray();
        var header = new DeltaHeader(p.Grid, p.Stream, p.Origin, p.Series, p.Tier, seq, previous.Id, unchecked(p.Hlc + UnZigZag(hlc)), start, unchecked(start + (long)span),
            p.KeyId, (uint)body.Length, Hash256.Of(body));
        error = header.Validate();
        return error is null ? SignedDelta.Assemble(header, signature, body) : null;
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
