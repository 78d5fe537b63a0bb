using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Sync;

namespace Grid.Edge.Hub.Replication.Tests.Sync;

public class SyncNodeTests
{
    private const long Now = TestGrid.T0 + 60_000;

    private static SyncNode Node(int hub, PersistedSync? restored = null) => new(TestGrid.Hubs[hub], TestGrid.Verifier, new SyncOptions(), restored);

    [Fact]
    public void A_write_is_pushed_applied_at_the_peer_and_a_tampered_or_replayed_copy_changes_nothing_but_the_counters()
    {
        var a = Node(0);
        var b = Node(1);
        var output = new List<Outgoing>();
        var delta = a.Write("weather1/temperature", ResolutionTier.Raw, TestGrid.T0, TestGrid.T0 + 1000, TestGrid.Body(TestGrid.T0, 1, 21.5), Now, [1], output);
        Assert.NotNull(delta);
        var push = Assert.Single(output);
        Assert.Equal(1, push.To);
        Assert.Equal([delta.Id], a.DrainChanges().Select(c => c.Delta.Id));

        var tampered = (byte[])push.Message.Clone();
        tampered[^1] ^= 1;
        b.Receive(0, tampered, Now, [0], output);
        Assert.Empty(b.Store.Applied);
        Assert.Equal(1, b.Refusals[nameof(DeltaRefusalReason.Malformed)]);

        b.Receive(0, push.Message, Now, [0], output);
        b.Receive(0, push.Message, Now, [0], output);
        var change = Assert.Single(b.DrainChanges());
        Assert.False(change.Withdrawn);
        Assert.Equal(delta.Id, change.Delta.Id);
        Assert.Single(b.Store.Applied);

        b.Receive(0, [0x09, 0x00], Now, [0], output);
        Assert.Equal(1, b.Refusals["malformed message"]);
    }

    [Fact]
    public void After_a_restart_a_hub_continues_its_streams_from_what_it_persisted_without_forking_them()
    {
        var a = Node(0);
        var output = new List<Outgoing>();
        var first = a.Write("van/speed", ResolutionTier.Raw, TestGrid.T0, TestGrid.T0 + 1000, TestGrid.Body(TestGrid.T0, 1, 50), Now, [], output)!;
        var restarted = Node(0, a.Persist());
        Assert.Equal(a.LastHlc, restarted.LastHlc);
        var second = restarted.Write("van/speed", ResolutionTier.Raw, TestGrid.T0 + 1000, TestGrid.T0 + 2000, TestGrid.Body(TestGrid.T0 + 1000, 1, 51), TestGrid.T0, [], output)!;
        Assert.Equal(2UL, second.Header.Seq);
        Assert.Equal(first.Id, second.Header.Previous);
        Assert.True(second.Header.Hlc > first.Header.Hlc, "the persisted clock keeps stamps increasing although the wall clock went back");
        Assert.Empty(restarted.Store.Proofs);
    }

    [Fact]
    public void Random_bytes_from_a_peer_never_throw_and_never_apply_anything()
    {
        var node = Node(2);
        var kinds = Enumerable.Range(1, 6).Select(k => (byte)k).ToArray();
        Gen.Select(Gen.Int[0, kinds.Length - 1], Gen.Byte.Array[0, 300]).Sample((kind, tail) =>
        {
            node.Receive(0, [kinds[kind], .. tail], Now, [0, 1], []);
            Assert.Empty(node.Store.Applied);
        }, iter: 20_000);
        Assert.True(node.Refusals.Values.Sum() > 10_000);
    }

    [Fact]
    public void A_fork_found_by_one_hub_reaches_the_others_as_a_proof_and_freezes_the_stream_there_too()
    {
        var chain = TestGrid.Chain(3, "home/power", 3);
        var author = new StreamAuthor(TestGrid.Grid, "home/power", ResolutionTier.Raw, TestGrid.Hubs[3], chain[0]);
        var other = author.Next(chain[1].Header.Hlc + 5, TestGrid.T0, TestGrid.T0 + 10, TestGrid.Body(TestGrid.T0, 1, 0));
        var a = Node(0);
        var b = Node(1);
        var output = new List<Outgoing>();
        a.Receive(9, new SyncMessage(SyncMessageKind.Deltas) { Items = [.. chain.Select(d => d.Encode())] }.Encode(), Now, [1], output);
        b.Receive(0, output.Single(o => o.To == 1).Message, Now, [0], []);
        Assert.Equal(3, b.Store.Applied.Count());
        output.Clear();
        a.Receive(9, new SyncMessage(SyncMessageKind.Deltas) { Items = [other.Encode()] }.Encode(), Now, [1], output);
        Assert.Equal(2UL, Assert.Single(a.Store.Proofs).Seq);
        b.DrainChanges();
        foreach (var message in output.Where(o => o.To == 1))
            b.Receive(0, message.Message, Now, [0], []);
        Assert.Equal(2UL, Assert.Single(b.Store.Proofs).Seq);
        Assert.Equal([chain[0].Id], b.Store.Applied.Select(d => d.Id));
        Assert.Equal(new[] { chain[1].Id, chain[2].Id }.Order(), b.DrainChanges().Where(c => c.Withdrawn).Select(c => c.Delta.Id).Order());
    }
}
