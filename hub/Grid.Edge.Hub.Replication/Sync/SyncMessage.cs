using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Sync;

internal enum SyncMessageKind : byte
{
    /// <summary>Deltas, live or asked for: varint count, then each as varint length + encoded delta.</summary>
    Deltas = 1,

    /// <summary>A version vector (reply flag byte, varint length + vector) and the sender's fork proofs (as in <see cref="Proofs"/>).</summary>
    Vector = 2,

    /// <summary>Reconciliation from the initiator: session (8), then the reconciler's message.</summary>
    Reconcile = 3,

    /// <summary>The peer's answer to <see cref="Reconcile"/>: session (8), then the reconciler's message.</summary>
    ReconcileReply = 4,

    /// <summary>Deltas asked for by id: varint count, then 32 bytes each.</summary>
    Want = 5,

    /// <summary>Fork proofs: varint count, then each as varint length + encoded proof.</summary>
    Proofs = 6,

    /// <summary>Control-log records (membership), sent first on every link and after every change: items as in <see cref="Proofs"/>.</summary>
    Records = 7,

    /// <summary>Where the sender listens (<c>host:port</c>, UTF-8 items), so peers can dial it back after a restart.</summary>
    Addresses = 8,

    /// <summary>
    /// Deltas answering a vector or a want (a state byte, then items as in <see cref="Deltas"/>), not relayed. State 0:
    /// the answer ends here; 1: it ends here, cut at the sender's budget, so the receiver sends its vector again for
    /// the rest; 2: more messages of this answer follow.
    /// </summary>
    CatchUp = 9,
}

/// <summary>
/// One message between two hubs' sync state machines; the first byte is its kind. Decoding refuses anything
/// malformed with a reason and never throws, since every byte comes from a peer.
/// </summary>
internal sealed record SyncMessage(SyncMessageKind Kind)
{
    public IReadOnlyList<byte[]> Items { get; init; } = [];

    public byte[] Payload { get; init; } = [];

    public bool IsReply { get; init; }

    /// <summary>For <see cref="SyncMessageKind.CatchUp"/>: the sender holds more that the receiver lacks.</summary>
    public bool More { get; init; }

    /// <summary>For <see cref="SyncMessageKind.CatchUp"/>: more messages of the same answer follow.</summary>
    public bool Part { get; init; }

    public ulong Session { get; init; }

    public IReadOnlyList<Hash256> Ids { get; init; } = [];

    /// <summary>Bounds a message: a delta is at most 1 MiB and the transport frames messages of at most this size.</summary>
    public const int MaxMessageBytes = 16 << 20;

    public byte[] Encode()
    {
        var w = new WireWriter();
        w.U8((byte)Kind);
        switch (Kind)
        {
            case SyncMessageKind.Deltas or SyncMessageKind.Proofs or SyncMessageKind.Records or SyncMessageKind.Addresses:
                WriteItems(w, Items);
                break;
            case SyncMessageKind.CatchUp:
                w.U8(Part ? (byte)2 : More ? (byte)1 : (byte)0);
                WriteItems(w, Items);
                break;
            case SyncMessageKind.Vector:
                w.U8(IsReply ? (byte)1 : (byte)0);
                w.Varint((ulong)Payload.Length);
                w.Bytes(Payload);
                WriteItems(w, Items);
                break;
            case SyncMessageKind.Reconcile or SyncMessageKind.ReconcileReply:
                w.U64(Session);
                w.Bytes(Payload);
                break;
            case SyncMessageKind.Want:
                w.Varint((ulong)Ids.Count);
                foreach (var id in Ids)
                    w.Hash(id);
                break;
        }

        return w.ToArray();
    }

    public static SyncMessage? TryDecode(ReadOnlySpan<byte> data, out string? error)
    {
        var reader = new WireReader(data);
        SyncMessage? message = null;
        if (data.Length > MaxMessageBytes)
            reader.Fail($"a message of {data.Length} bytes exceeds {MaxMessageBytes}");
        else if (reader.U8("kind", out var kindByte))
        {
            var kind = (SyncMessageKind)kindByte;
            switch (kind)
            {
                case SyncMessageKind.Deltas or SyncMessageKind.Proofs or SyncMessageKind.Records or SyncMessageKind.Addresses:
                    if (TryReadItems(ref reader, out var items))
                        message = new SyncMessage(kind) { Items = items };
                    break;
                case SyncMessageKind.CatchUp:
                    if (reader.U8("answer state", out var state) && (state <= 2 || reader.Fail("the answer state is not 0, 1 or 2"))
                        && TryReadItems(ref reader, out var caughtUp))
                        message = new SyncMessage(kind) { More = state == 1, Part = state == 2, Items = caughtUp };
                    break;
                case SyncMessageKind.Vector:
                    if (reader.U8("reply flag", out var reply) && (reply <= 1 || reader.Fail("the reply flag is not 0 or 1"))
                        && reader.Varint("vector length", out var length) && (length <= (ulong)reader.Remaining || reader.Fail("the vector is cut short"))
                        && reader.Bytes((int)length, "vector", out var vector) && TryReadItems(ref reader, out var proofs))
                        message = new SyncMessage(kind) { IsReply = reply == 1, Payload = vector.ToArray(), Items = proofs };
                    break;
                case SyncMessageKind.Reconcile or SyncMessageKind.ReconcileReply:
                    if (reader.U64("session", out var session) && reader.Bytes(reader.Remaining, "reconciliation", out var payload))
                        message = new SyncMessage(kind) { Session = session, Payload = payload.ToArray() };
                    break;
                case SyncMessageKind.Want:
                    if (reader.Varint("id count", out var count) && (count <= (ulong)reader.Remaining / Hash256.Size || reader.Fail($"{count} ids do not fit")))
                    {
                        var ids = new List<Hash256>((int)count);
                        for (var i = 0UL; i < count && reader.Hash("id", out var id); i++)
                            ids.Add(id);
                        message = new SyncMessage(kind) { Ids = ids };
                    }

                    break;
                default:
                    reader.Fail($"message kind {kindByte} is unknown");
                    break;
            }

            reader.End("message");
        }

        error = reader.Error;
        return error is null ? message : null;
    }

    private static void WriteItems(WireWriter w, IReadOnlyList<byte[]> items)
    {
        w.Varint((ulong)items.Count);
        foreach (var item in items)
        {
            w.Varint((ulong)item.Length);
            w.Bytes(item);
        }
    }

    private static bool TryReadItems(ref WireReader reader, out List<byte[]> items)
    {
        items = [];
        if (!reader.Varint("item count", out var count))
            return false;
        if (count > (ulong)reader.Remaining)
            return reader.Fail($"{count} items do not fit in {reader.Remaining} bytes");
        for (var i = 0UL; i < count; i++)
        {
            if (!reader.Varint("item length", out var length))
                return false;
            if (length > (ulong)reader.Remaining)
                return reader.Fail($"item {i + 1} claims {length} bytes, {reader.Remaining} left");
            if (!reader.Bytes((int)length, "item", out var item))
                return false;
            items.Add(item.ToArray());
        }

        return true;
    }
}
