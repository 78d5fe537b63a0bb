using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;

namespace Grid.Edge.Hub.Replication.Tests.Deltas;

public class DeltaStoreTests
{
    private const long MaxSkewMs = 300_000;
    private static readonly long Now = TestGrid.Hlc(TestGrid.T0 + 100_000_000);

    private static readonly List<SignedDelta> Chain = TestGrid.Chain(0, "weather1/temperature", 12);

    /// <summary>A second history of the same stream, signed by the same origin, that agrees below seq 6 and differs from it on.</summary>
    private static readonly List<SignedDelta> Forked = [.. Chain.Take(5), .. OtherTail()];

    private static List<SignedDelta> OtherTail()
    {
        var author = new StreamAuthor(TestGrid.Grid, "weather1/temperature", ResolutionTier.Raw, TestGrid.Hubs[0], Chain[4]);
        return [.. Enumerable.Range(5, 7).Select(i => author.Next(TestGrid.Hlc(TestGrid.T0 + i * 10_000 + 10_000) + 99, TestGrid.T0 + i * 10_000, TestGrid.T0 + i * 10_000 + 10_000, TestGrid.Body(TestGrid.T0, 3, -5)))];
    }

    private static Gen<List<SignedDelta>> Arrivals(List<SignedDelta> deltas) =>
        Gen.Int[0, deltas.Count - 1].Array[0, deltas.Count * 2].Select(Gen.Shuffle(deltas.ToList()), (extra, order) => order.Concat(extra.Select(i => deltas[i])).ToList())
            .SelectMany(all => Gen.Shuffle(all));

    [Fact]
    public void Any_order_with_any_repetition_applies_the_whole_chain_in_seq_order_exactly_once()
    {
        Arrivals(Chain).Sample(arrivals =>
        {
            var store = new DeltaStore(MaxSkewMs);
            var applied = new List<SignedDelta>();
            foreach (var delta in arrivals)
            {
                var result = store.Offer(delta, Now);
                Assert.NotEqual(OfferOutcome.Forked, result.Outcome);
                applied.AddRange(result.Applied);
            }

            Assert.Equal(Chain.Select(d => d.Id), applied.Select(d => d.Id));
            Assert.Equal(Chain.Select(d => d.Id), store.Applied.Select(d => d.Id));
            Assert.Empty(store.Proofs);
        }, iter: 500);
    }

    [Fact]
    public void Before_the_gap_fills_nothing_beyond_it_is_applied()
    {
        var store = new DeltaStore(MaxSkewMs);
        Assert.Equal(OfferOutcome.HeldForGap, store.Offer(Chain[2], Now).Outcome);
        Assert.Equal(OfferOutcome.HeldForGap, store.Offer(Chain[1], Now).Outcome);
        Assert.Equal(OfferOutcome.Duplicate, store.Offer(Chain[1], Now).Outcome);
        Assert.Empty(store.Applied);
        var result = store.Offer(Chain[0], Now);
        Assert.Equal(OfferOutcome.Applied, result.Outcome);
        Assert.Equal(Chain.Take(3).Select(d => d.Id), result.Applied.Select(d => d.Id));
        Assert.Equal(OfferOutcome.Duplicate, store.Offer(Chain[0], Now).Outcome);
    }

    [Fact]
    public void Two_histories_in_any_order_freeze_the_stream_below_the_fork_and_hubs_agree_on_one_proof()
    {
        var both = Chain.Concat(Forked.Skip(5)).ToList();
        Gen.Select(Arrivals(both), Arrivals(both)).Sample((first, second) =>
        {
            var a = Fill(first);
            var b = Fill(second);
            Assert.Equal(6UL, Assert.Single(a.Proofs).Seq);
            Assert.Equal(6UL, Assert.Single(b.Proofs).Seq);
            Assert.Equal(Chain.Take(5).Select(d => d.Id), a.Applied.Select(d => d.Id));
            Assert.Equal(Chain.Take(5).Select(d => d.Id), b.Applied.Select(d => d.Id));

            // Proofs travel: each hub keeps the smaller of the two, so both end with the same one.
            var pa = a.Proofs.Single();
            b.ImportProof(ForkProof.TryDecode(pa.Encode(), out _)!);
            a.ImportProof(b.Proofs.Single());
            Assert.Equal(0, a.Proofs.Single().CompareTo(b.Proofs.Single()));
            Assert.Null(a.Proofs.Single().Verify(TestGrid.Verifier));
            foreach (var late in both.Where(d => d.Header.Seq >= 6))
                Assert.Equal(OfferOutcome.Frozen, a.Offer(late, Now).Outcome);
        }, iter: 300);
    }

    [Fact]
    public void A_fork_found_after_applying_withdraws_what_was_applied_at_and_above_it()
    {
        var store = new DeltaStore(MaxSkewMs);
        foreach (var delta in Chain)
            store.Offer(delta, Now);
        var result = store.Offer(Forked[7], Now);
        Assert.Equal(OfferOutcome.Forked, result.Outcome);
        Assert.Equal(Chain.Skip(7).Select(d => d.Id), result.Withdrawn.Select(d => d.Id));
        Assert.Equal(8UL, result.Proof!.Seq);
        Assert.Equal(Chain[7].Id, new[] { result.Proof.Lower.Id, result.Proof.Upper.Id }.Min());
    }

    [Fact]
    public void A_delta_from_the_future_is_held_not_dropped_and_applies_once_the_clock_catches_up()
    {
        var store = new DeltaStore(MaxSkewMs);
        var early = TestGrid.Hlc(TestGrid.T0 - 3_600_000);
        var limit = Chain[0].Header.Hlc - TestGrid.Hlc(MaxSkewMs);
        Assert.Equal(OfferOutcome.HeldFuture, store.Offer(Chain[0], early).Outcome);
        Assert.Equal(OfferOutcome.HeldFuture, store.Offer(Chain[0], limit - 1).Outcome);
        Assert.Equal(1, store.HeldFutureCount);
        Assert.Empty(store.Applied);
        Assert.Empty(store.ReleaseDue(limit - 1));
        var released = store.ReleaseDue(limit);
        Assert.Equal(OfferOutcome.Applied, Assert.Single(released).Outcome);
        Assert.Equal(0, store.HeldFutureCount);
        Assert.Equal(Chain[0].Id, Assert.Single(store.Applied).Id);
    }

    [Fact]
    public void A_proof_that_does_not_contradict_or_is_not_signed_by_the_origin_is_refused()
    {
        Assert.Null(ForkProof.Of(Chain[0], Chain[1]));
        Assert.Null(ForkProof.Of(Chain[0], Chain[0]));
        Assert.Null(ForkProof.Of(Chain[0], TestGrid.Chain(1, "weather1/temperature", 1)[0]));
        var proof = ForkProof.Of(Chain[5], Forked[5])!;
        var bytes = proof.Encode();
        var twoSame = new ForkProof[] { ForkProof.TryDecode(bytes, out var error)! };
        Assert.Null(error);
        Assert.Equal(0, twoSame[0].CompareTo(proof));
        bytes[^1] ^= 1;
        var tampered = ForkProof.TryDecode(bytes, out _);
        Assert.Equal(DeltaRefusalReason.BadSignature, tampered!.Verify(TestGrid.Verifier)!.Reason);
        Assert.Null(ForkProof.TryDecode(bytes.AsSpan(0, 40), out error));
        Assert.NotNull(error);
    }

    private static DeltaStore Fill(IEnumerable<SignedDelta> arrivals)
    {
        var store = new DeltaStore(MaxSkewMs);
        foreach (var delta in arrivals)
            store.Offer(delta, Now);
        return store;
    }
}
