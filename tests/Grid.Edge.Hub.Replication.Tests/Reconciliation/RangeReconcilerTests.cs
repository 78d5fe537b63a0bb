using CsCheck;
using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Reconciliation;

public class RangeReconcilerTests
{
    internal sealed record Outcome(HashSet<Hash256> Have, HashSet<Hash256> Need, int Rounds, long Bytes);

    /// <summary>Runs the protocol to the end between two sides; a round is one message each way.</summary>
    internal static Outcome Run(IReadOnlyCollection<ReconcileItem> initiatorItems, IReadOnlyCollection<ReconcileItem> peerItems, int maxRounds = 64)
    {
        var initiator = new RangeReconciler(initiatorItems);
        var peer = new RangeReconciler(peerItems);
        var have = new HashSet<Hash256>();
        var need = new HashSet<Hash256>();
        var query = initiator.Initiate();
        long bytes = 0;
        var rounds = 0;
        while (query.Length > 0)
        {
            Assert.True(++rounds <= maxRounds, $"no end after {maxRounds} rounds");
            var response = peer.Respond(query, out var error);
            Assert.True(response is not null, error);
            bytes += query.Length + response.Length;
            query = initiator.Continue(response, have, need, out error)!;
            Assert.True(query is not null, error);
        }

        return new Outcome(have, need, rounds, bytes);
    }

    internal static ReconcileItem Item(Random random, ulong maxTimestamp)
    {
        var id = new byte[32];
        random.NextBytes(id);
        return new ReconcileItem((ulong)random.NextInt64(0, (long)maxTimestamp), Hash256.Read(id));
    }

    [Fact]
    public void Any_two_sets_reconcile_to_exactly_their_differences_in_logarithmic_rounds()
    {
        // Timestamps from a narrow range put many items on one timestamp, so bounds need id prefixes too.
        Gen.Select(Gen.Int[0, 2000], Gen.Int[0, 200], Gen.Int[0, 200], Gen.OneOf(Gen.Const(3UL), Gen.Const(1UL << 40)), Gen.Int)
            .Sample((shared, onlyA, onlyB, span, seed) =>
            {
                var random = new Random(seed);
                var common = Enumerable.Range(0, shared).Select(_ => Item(random, span)).ToList();
                var a = Enumerable.Range(0, onlyA).Select(_ => Item(random, span)).ToList();
                var b = Enumerable.Range(0, onlyB).Select(_ => Item(random, span)).ToList();
                var outcome = Run([.. common, .. a], [.. common, .. b]);
                Assert.True(outcome.Have.SetEquals(a.Select(i => i.Id)));
                Assert.True(outcome.Need.SetEquals(b.Select(i => i.Id)));
                var n = shared + Math.Max(onlyA, onlyB);
                Assert.True(outcome.Rounds <= 2 + (int)Math.Ceiling(Math.Log(Math.Max(n, 2), RangeReconciler.Buckets)), $"{outcome.Rounds} rounds for n = {n}");
            }, iter: 100);
    }

    [Fact]
    public void Equal_sets_settle_in_one_round_of_fingerprints_and_empty_sets_too()
    {
        var random = new Random(1);
        var items = Enumerable.Range(0, 10_000).Select(_ => Item(random, 1UL << 40)).ToList();
        var same = Run(items, items);
        Assert.Equal(1, same.Rounds);
        Assert.Empty(same.Have);
        Assert.Empty(same.Need);
        Assert.True(same.Bytes < 1000, $"{same.Bytes} bytes");
        var empty = Run([], []);
        Assert.Equal(1, empty.Rounds);
        var oneSide = Run(items, []);
        Assert.Equal(items.Count, oneSide.Have.Count);
    }

    [Fact]
    public void A_malformed_message_is_refused_with_a_reason_and_random_bytes_never_throw()
    {
        var random = new Random(2);
        var peer = new RangeReconciler(Enumerable.Range(0, 500).Select(_ => Item(random, 1000)));
        Assert.Contains("version", Refuse(peer, [0x02]), StringComparison.Ordinal);
        Assert.Contains("mode 7", Refuse(peer, [0x01, 0x05, 0x00, 0x07]), StringComparison.Ordinal);
        Assert.Contains("do not increase", Refuse(peer, [0x01, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00]), StringComparison.Ordinal);
        Assert.Contains("ids claimed", Refuse(peer, [0x01, 0x00, 0x00, 0x02, 0x7F]), StringComparison.Ordinal);
        Assert.Contains("prefix", Refuse(peer, [0x01, 0x05, 0x21]), StringComparison.Ordinal);
        Assert.Contains("follows the open upper bound", Refuse(peer, [0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00]), StringComparison.Ordinal);
        var initiator = new RangeReconciler(Enumerable.Range(0, 500).Select(_ => Item(random, 1000)));
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            peer.Respond(bytes, out _);
            initiator.Continue(bytes, new List<Hash256>(), new List<Hash256>(), out _);
        }, iter: 20_000);
    }

    private static string Refuse(RangeReconciler side, byte[] message)
    {
        Assert.Null(side.Respond(message, out var error));
        return error!;
    }
}
