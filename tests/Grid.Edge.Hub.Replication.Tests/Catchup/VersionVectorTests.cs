using CsCheck;
using Grid.Edge.Hub.Replication.Catchup;
using Grid.Edge.Hub.Replication.Deltas;

namespace Grid.Edge.Hub.Replication.Tests.Catchup;

public class VersionVectorTests
{
    private static readonly long Now = TestGrid.Hlc(TestGrid.T0 + 100_000_000);

    private static readonly List<SignedDelta>[] Chains =
    [
        TestGrid.Chain(0, "weather1/temperature", 8),
        TestGrid.Chain(0, "weather1/humidity", 8),
        TestGrid.Chain(1, "van/speed", 8),
        TestGrid.Chain(2, "weather1/temperature", 8),
    ];

    private static DeltaStore StoreWith(int[] prefix)
    {
        var store = new DeltaStore(300_000);
        for (var c = 0; c < Chains.Length; c++)
        {
            foreach (var delta in Chains[c].Take(prefix[c]))
                store.Offer(delta, Now);
        }

        return store;
    }

    [Fact]
    public void One_exchange_of_vectors_sends_exactly_the_missing_deltas_in_an_order_that_applies()
    {
        Gen.Select(Gen.Int[0, 8].Array[Chains.Length], Gen.Int[0, 8].Array[Chains.Length]).Sample((pa, pb) =>
        {
            var a = StoreWith(pa);
            var b = StoreWith(pb);
            var theirVector = VersionVector.TryDecode(VersionVector.Of(b).Encode(), 100, out var error);
            Assert.Null(error);
            var sent = CatchUpPlanner.Missing(a, theirVector!);
            var expected = a.Applied.Select(d => d.Id).Except(b.Applied.Select(d => d.Id)).ToHashSet();
            Assert.Equal(expected.Count, sent.Count);
            Assert.True(expected.SetEquals(sent.Select(d => d.Id)));
            foreach (var delta in sent)
                Assert.Equal(OfferOutcome.Applied, b.Offer(delta, Now).Outcome);
            Assert.Empty(CatchUpPlanner.Missing(a, VersionVector.Of(b)));
            Assert.Equal(Enumerable.Range(0, Chains.Length).Sum(c => Math.Max(pa[c], pb[c])), b.Applied.Count());
        }, iter: 300);
    }

    [Fact]
    public void Equally_long_but_different_histories_are_not_called_in_sync_the_fork_is_sent_and_found()
    {
        var author = new StreamAuthor(TestGrid.Grid, "van/speed", ResolutionTier.Raw, TestGrid.Hubs[1], Chains[2][2]);
        var clone = author.Next(TestGrid.Hlc(TestGrid.T0 + 99_000), TestGrid.T0, TestGrid.T0 + 1000, TestGrid.Body(TestGrid.T0, 2, 1));
        var a = StoreWith([0, 0, 4, 0]);
        var b = StoreWith([0, 0, 3, 0]);
        b.Offer(clone, Now);
        Assert.Equal(VersionVector.Of(a).Entries.Values.Single().Top, VersionVector.Of(b).Entries.Values.Single().Top);
        var sent = Assert.Single(CatchUpPlanner.Missing(a, VersionVector.Of(b)));
        Assert.Equal(Chains[2][3].Id, sent.Id);
        Assert.Equal(OfferOutcome.Forked, b.Offer(sent, Now).Outcome);
        Assert.Equal(4UL, Assert.Single(b.Proofs).Seq);
    }

    [Fact]
    public void Equal_holdings_give_equal_digests_and_any_difference_changes_it()
    {
        var a = StoreWith([3, 0, 8, 1]);
        var b = StoreWith([3, 0, 8, 1]);
        Assert.Equal(VersionVector.Of(a).Digest(), VersionVector.Of(b).Digest());
        b.Offer(Chains[1][0], Now);
        Assert.NotEqual(VersionVector.Of(a).Digest(), VersionVector.Of(b).Digest());
    }

    [Fact]
    public void Malformed_vectors_are_refused_with_a_reason_and_random_bytes_never_throw()
    {
        var bytes = VersionVector.Of(StoreWith([3, 2, 1, 0])).Encode();
        Assert.NotNull(VersionVector.TryDecode(bytes, 3, out _));
        Assert.Contains("3 entries claimed", Refuse(bytes, 2), StringComparison.Ordinal);
        Assert.Contains("follow", Refuse([.. bytes, 0], 10), StringComparison.Ordinal);
        for (var length = 0; length < bytes.Length; length++)
            Refuse(bytes[..length], 10);
        var swapped = (byte[])bytes.Clone();
        var entry = (bytes.Length - 5) / 3;
        Assert.Equal(16 + 16 + 1 + 32, entry);
        bytes.AsSpan(5, entry).CopyTo(swapped.AsSpan(5 + entry));
        bytes.AsSpan(5 + entry, entry).CopyTo(swapped.AsSpan(5));
        Assert.Contains("increasing", Refuse(swapped, 10), StringComparison.Ordinal);
        var zeroTop = (byte[])bytes.Clone();
        zeroTop[4 + 1 + 32] = 0;
        Assert.Contains("outside 1..", Refuse(zeroTop, 10), StringComparison.Ordinal);
        Gen.Byte.Array[0, 200].Select(b => "GEV1"u8.ToArray().Concat(b).ToArray()).Sample(b => { VersionVector.TryDecode(b, 1000, out _); }, iter: 5_000);
    }

    private static string Refuse(byte[] bytes, int maxEntries)
    {
        Assert.Null(VersionVector.TryDecode(bytes, maxEntries, out var error));
        return error!;
    }
}
