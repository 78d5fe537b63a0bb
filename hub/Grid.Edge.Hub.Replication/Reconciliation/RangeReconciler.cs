using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Reconciliation;

/// <summary>
/// Range-based set reconciliation (Meyer 2023, the protocol Negentropy implements), as pure message-in /
/// message-out functions over one side's sorted items. The initiator sends fingerprints of a few ranges covering
/// everything; each side answers a range whose fingerprint differs by splitting it into <see cref="Buckets"/>
/// sub-ranges, or by listing its ids once a range is small; a matching range is skipped. Each round trip narrows
/// every differing range by the bucket factor, so d differences among n items settle in about log_B(n) rounds
/// with O(d·B·log n) fingerprints, and only the initiator learns the result (ids it has and the peer lacks, and
/// the reverse).
///
/// Message layout: version byte 0x01, then ranges in increasing order, each: upper bound (timestamp as varint of
/// 0 for the open bound or 1 + the difference to the previous bound's timestamp; id prefix as varint length +
/// bytes, at most 32), mode (varint: 0 skip, 1 fingerprint of 16 bytes, 2 id list: varint count + 32 bytes each).
/// Trailing skips are left out; a message of the version byte alone says "nothing left to compare".
/// </summary>
internal sealed class RangeReconciler
{
    public const byte Version = 0x01;

    public const int Buckets = 16;

    private const ulong Open = ulong.MaxValue;

    private readonly ReconcileItem[] _items;

    /// <param name="items">This side's items; sorted here, duplicates refused (ids are unique by construction).</param>
    public RangeReconciler(IEnumerable<ReconcileItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        _items = [.. items];
        Array.Sort(_items);
        for (var i = 0; i < _items.Length; i++)
        {
            if (_items[i].Timestamp == Open)
                throw new ArgumentException("an item's timestamp is ulong.MaxValue, reserved for the open bound", nameof(items));
            if (i > 0 && _items[i].CompareTo(_items[i - 1]) == 0)
                throw new ArgumentException($"item {_items[i].Id} is listed twice", nameof(items));
        }
    }

    public int Count => _items.Length;

    /// <summary>The initiator's first message.</summary>
    public byte[] Initiate()
    {
        var output = new Output();
        SplitRange(0, _items.Length, new Bound(Open, []), output);
        return output.Finish();
    }

    /// <summary>The peer's answer to a message, or null with an error for a malformed or hostile one.</summary>
    public byte[]? Respond(ReadOnlySpan<byte> message, out string? error) => Process(message, initiator: false, null, null, out error);

    /// <summary>
    /// The initiator's next message, adding to <paramref name="have"/> (ids only this side holds) and
    /// <paramref name="need"/> (ids only the peer holds); an empty array when reconciliation is complete.
    /// </summary>
    public byte[]? Continue(ReadOnlySpan<byte> response, ICollection<Hash256> have, ICollection<Hash256> need, out string? error)
    {
        var next = Process(response, initiator: true, have, need, out error);
        return next is null ? null : next.Length == 1 ? [] : next;
    }

    private byte[]? Process(ReadOnlySpan<byte> message, bool initiator, ICollection<Hash256>? have, ICollection<Hash256>? need, out string? error)
    {
        var reader = new WireReader(message);
        if (!reader.U8("version", out var version) || version != Version)
        {
            error = reader.Error ?? $"reconciliation version {version} is not {Version}";
            return null;
        }

        var output = new Output();
        var previous = new Bound(0, []);
        var lastTimestamp = 0UL;
        var lower = 0;
        var skipping = false;
        while (reader.Remaining > 0)
        {
            if (previous.Timestamp == Open)
            {
                reader.Fail("a range follows the open upper bound");
                break;
            }

            if (!TryReadBound(ref reader, ref lastTimestamp, out var bound) || !reader.Varint("mode", out var mode))
                break;
            if (bound.CompareTo(previous) <= 0)
            {
                reader.Fail("range bounds do not increase");
                break;
            }

            var upper = LowerBound(lower, bound);
            switch (mode)
            {
                case 0:
                    skipping = true;
                    break;
                case 1:
                    if (!reader.Bytes(FingerprintSum.Size, "fingerprint", out var theirs))
                        break;
                    if (Id128.Read(theirs).Value == Fingerprint(lower, upper))
                        skipping = true;
                    else
                    {
                        FlushSkip(output, previous, ref skipping);
                        SplitRange(lower, upper, bound, output);
                    }

                    break;
                case 2:
                    if (!reader.Varint("id count", out var count))
                        break;
                    if (count > (ulong)reader.Remaining / Hash256.Size)
                    {
                        reader.Fail($"{count} ids claimed, {reader.Remaining / Hash256.Size} fit in the message");
                        break;
                    }

                    var theirIds = new HashSet<Hash256>((int)count);
                    for (var i = 0UL; i < count && reader.Hash("id", out var id); i++)
                        theirIds.Add(id);
                    if (initiator)
                    {
                        for (var k = lower; k < upper; k++)
                        {
                            if (!theirIds.Remove(_items[k].Id))
                                have!.Add(_items[k].Id);
                        }

                        foreach (var id in theirIds)
                            need!.Add(id);
                        skipping = true;
                    }
                    else
                    {
                        FlushSkip(output, previous, ref skipping);
                        output.IdList(bound, _items.AsSpan(lower, upper - lower));
                    }

                    break;
                default:
                    reader.Fail($"range mode {mode} is not skip (0), fingerprint (1) or id list (2)");
                    break;
            }

            if (reader.Error is not null)
                break;
            lower = upper;
            previous = bound;
        }

        error = reader.Error;
        return error is null ? output.Finish() : null;
    }

    private static void FlushSkip(Output output, Bound previous, ref bool skipping)
    {
        if (skipping)
            output.Skip(previous);
        skipping = false;
    }

    private void SplitRange(int lower, int upper, Bound upperBound, Output output)
    {
        var count = upper - lower;
        if (count < Buckets * 2)
        {
            output.IdList(upperBound, _items.AsSpan(lower, count));
            return;
        }

        var perBucket = count / Buckets;
        var withExtra = count % Buckets;
        var at = lower;
        for (var i = 0; i < Buckets; i++)
        {
            var size = perBucket + (i < withExtra ? 1 : 0);
            var fingerprint = Fingerprint(at, at + size);
            at += size;
            output.Fingerprint(at == upper ? upperBound : MinimalBound(_items[at - 1], _items[at]), fingerprint);
        }
    }

    /// <summary>The shortest bound above <paramref name="below"/> and at most <paramref name="at"/>: short messages.</summary>
    private static Bound MinimalBound(ReconcileItem below, ReconcileItem at)
    {
        if (at.Timestamp != below.Timestamp)
            return new Bound(at.Timestamp, []);
        var a = below.Id.ToBytes();
        var b = at.Id.ToBytes();
        var shared = 0;
        while (shared < Hash256.Size && a[shared] == b[shared])
            shared++;
        return new Bound(at.Timestamp, b[..(shared + 1)]);
    }

    private UInt128 Fingerprint(int lower, int upper)
    {
        var sum = new FingerprintSum();
        for (var k = lower; k < upper; k++)
            sum.Add(_items[k].Id);
        return sum.Finish();
    }

    /// <summary>The first index at or after <paramref name="from"/> whose item is not below the bound.</summary>
    private int LowerBound(int from, Bound bound)
    {
        int lo = from, hi = _items.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (bound.IsAbove(_items[mid]))
                lo = mid + 1;
            else
                hi = mid;
        }

        return lo;
    }

    private static bool TryReadBound(ref WireReader reader, ref ulong lastTimestamp, out Bound bound)
    {
        bound = default;
        if (!reader.Varint("bound timestamp", out var encoded) || !reader.Varint("bound prefix length", out var length))
            return false;
        if (length > Hash256.Size)
            return reader.Fail($"a bound's id prefix is {length} bytes, at most {Hash256.Size}");
        if (!reader.Bytes((int)length, "bound prefix", out var prefix))
            return false;
        ulong timestamp;
        if (encoded == 0)
            timestamp = Open;
        else if (encoded - 1 >= Open - lastTimestamp)
            return reader.Fail("a bound's timestamp overflows");
        else
            timestamp = lastTimestamp + encoded - 1;
        if (timestamp == Open && length > 0)
            return reader.Fail("the open bound carries an id prefix");
        lastTimestamp = timestamp;
        bound = new Bound(timestamp, prefix.ToArray());
        return true;
    }

    /// <summary>A range's exclusive upper end: a timestamp and an id prefix (missing bytes count as zero).</summary>
    private readonly record struct Bound(ulong Timestamp, byte[] Prefix) : IComparable<Bound>
    {
        public bool IsAbove(ReconcileItem item)
        {
            if (item.Timestamp != Timestamp)
                return item.Timestamp < Timestamp;
            Span<byte> id = stackalloc byte[Hash256.Size];
            item.Id.Write(id);
            Span<byte> padded = stackalloc byte[Hash256.Size];
            Prefix.CopyTo(padded);
            return id.SequenceCompareTo(padded) < 0;
        }

        public int CompareTo(Bound other)
        {
            var c = Timestamp.CompareTo(other.Timestamp);
            if (c != 0)
                return c;
            Span<byte> a = stackalloc byte[Hash256.Size];
            Span<byte> b = stackalloc byte[Hash256.Size];
            Prefix.CopyTo(a);
            other.Prefix.CopyTo(b);
            return a.SequenceCompareTo(b);
        }
    }

    private sealed class Output
    {
        private readonly WireWriter _writer = new();
        private ulong _lastTimestamp;

        public Output() => _writer.U8(Version);

        public void Skip(Bound bound)
        {
            WriteBound(bound);
            _writer.Varint(0);
        }

        public void Fingerprint(Bound bound, UInt128 fingerprint)
        {
            WriteBound(bound);
            _writer.Varint(1);
            _writer.Id(new Id128(fingerprint));
        }

        public void IdList(Bound bound, ReadOnlySpan<ReconcileItem> items)
        {
            WriteBound(bound);
            _writer.Varint(2);
            _writer.Varint((ulong)items.Length);
            foreach (var item in items)
                _writer.Hash(item.Id);
        }

        public byte[] Finish() => _writer.ToArray();

        private void WriteBound(Bound bound)
        {
            if (bound.Timestamp == Open)
                _writer.Varint(0);
            else
            {
                _writer.Varint(bound.Timestamp - _lastTimestamp + 1);
                _lastTimestamp = bound.Timestamp;
            }

            _writer.Varint((ulong)bound.Prefix.Length);
            _writer.Bytes(bound.Prefix);
        }
    }
}
