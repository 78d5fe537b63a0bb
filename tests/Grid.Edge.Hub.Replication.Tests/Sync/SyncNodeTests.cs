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
        var kinds = Enumerable.Range(1, 9).Select(k => (byte)k).ToArray();
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

    [Fact]
    public void A_backlog_moves_in_rounds_of_the_budget_pulled_by_the_receiver_without_relay_or_extra_vectors()
    {
        var series = new[] { "weather1/temperature", "weather1/humidity", "van/speed", "home/power" };
        var chains = series.Select((name, i) => TestGrid.Chain(i % 2 == 0 ? 3 : 4, name, 12, t0: TestGrid.T0 + i)).ToList();
        var oneDelta = chains[0][0].EncodedLength;
        var options = new SyncOptions { CatchUpBytes = oneDelta * 5 };
        var a = new SyncNode(TestGrid.Hubs[0], TestGrid.Verifier, options);
        var b = new SyncNode(TestGrid.Hubs[1], TestGrid.Verifier, options);
        a.Receive(9, new SyncMessage(SyncMessageKind.Deltas) { Items = [.. chains.SelectMany(c => c).Select(d => d.Encode())] }.Encode(), Now, [], []);
        Assert.Equal(48, a.Store.Applied.Count());

        // b (peers: a = 0, a third hub = 2) asks once; afterwards only the answers and b's pulls travel.
        var toA = new List<Outgoing>();
        b.Tick(Now, [0], CatchUpMode.Vectors, toA);
        var rounds = 0;
        var firstRound = new List<SignedDelta>();
        while (toA.Count > 0)
        {
            var toB = new List<Outgoing>();
            foreach (var message in toA.Where(o => o.To == 0))
                a.Receive(1, message.Message, Now, [1], toB);
            toA.Clear();
            foreach (var message in toB.Where(o => o.To == 1))
            {
                var decoded = SyncMessage.TryDecode(message.Message, out _)!;
                if (decoded.Kind == SyncMessageKind.CatchUp)
                {
                    var deltas = decoded.Items.Select(i => SignedDelta.TryDecode(i, out _)!).ToList();
                    Assert.True(deltas.Sum(d => d.EncodedLength) <= options.CatchUpBytes, "an answer stays within the budget");
                    if (rounds == 0)
                        firstRound.AddRange(deltas);
                    rounds++;
                }

                b.Receive(0, message.Message, Now, [0, 2], toA);
            }

            Assert.DoesNotContain(toA, o => o.To == 2); // what b asked for is not pushed on to the others
            if (rounds == 1)
            {
                // While the pull runs, the timer adds no vector of its own.
                var ticked = new List<Outgoing>();
                b.Tick(Now + 1000, [0], CatchUpMode.Vectors, ticked);
                Assert.Empty(ticked);

                // Nor does a's own timer vector get b's vector back, which would make a send this round twice.
                var fromA = new List<Outgoing>();
                a.Tick(Now + 1000, [1], CatchUpMode.Vectors, fromA);
                var answer = new List<Outgoing>();
                b.Receive(0, fromA.Single().Message, Now + 1000, [0, 2], answer);
                Assert.DoesNotContain(answer, o => SyncMessage.TryDecode(o.Message, out _)!.Kind == SyncMessageKind.Vector);
            }
        }

        Assert.Equal(a.Store.Applied.Select(d => d.Id).Order(), b.Store.Applied.Select(d => d.Id).Order());
        Assert.InRange(rounds, 48 / 5, 48 / 5 + 2);
        Assert.Equal(4, firstRound.Select(d => d.Header.Series).Distinct().Count()); // every series moves from the first round on
        var after = new List<Outgoing>();
        b.Tick(Now + options.PullQuietMs + 1, [0], CatchUpMode.Vectors, after);
        Assert.Single(after); // the timer's own vector again once the pull ended
    }

    [Fact]
    public void A_stream_the_peer_keeps_refusing_is_sent_again_with_growing_pauses_not_with_every_vector()
    {
        // b refuses everything of hub 3 (as a hub that does not take that member's writes would).
        var chain = TestGrid.Chain(3, "weather1/temperature", 2);
        var a = Node(0);
        var b = new SyncNode(TestGrid.Hubs[1], TestGrid.Verifier, new SyncOptions(), verify: d => d.Header.Origin == TestGrid.Hubs[3].HubId ? new DeltaRefusal(DeltaRefusalReason.SeriesNotWritable, "no") : null);
        a.Receive(9, new SyncMessage(SyncMessageKind.Deltas) { Items = [.. chain.Select(d => d.Encode())] }.Encode(), Now, [], []);

        int SentAt(long at)
        {
            var vector = new List<Outgoing>();
            b.Tick(at, [0], CatchUpMode.Vectors, vector);
            var answer = new List<Outgoing>();
            a.Receive(1, vector.Single().Message, at, [1], answer);
            var deltas = answer.Select(o => SyncMessage.TryDecode(o.Message, out _)!).Where(m => m.Kind == SyncMessageKind.CatchUp).Sum(m => m.Items.Count);
            foreach (var message in answer)
                b.Receive(0, message.Message, at, [0], []);
            return deltas;
        }

        Assert.Equal(2, SentAt(Now));
        Assert.Equal(0, SentAt(Now + 1_000));
        Assert.Equal(2, SentAt(Now + 2_000));
        Assert.Equal(0, SentAt(Now + 4_000));
        Assert.Equal(2, SentAt(Now + 6_000));
        Assert.Equal(0, SentAt(Now + 10_000));
        Assert.Equal(2, SentAt(Now + 14_000));
        Assert.Empty(b.Store.Applied);

        // A new link starts afresh.
        a.Reset(1);
        Assert.Equal(2, SentAt(Now + 15_000));
    }

    [Fact]
    public void Streams_a_round_had_no_room_for_come_in_the_next_rounds_without_a_pause()
    {
        var chains = Enumerable.Range(0, 8).Select(i => TestGrid.Chain(3, $"station{i}/temperature", 3)).ToList();
        var options = new SyncOptions { CatchUpBytes = chains[0][0].EncodedLength * 3 };
        var a = new SyncNode(TestGrid.Hubs[0], TestGrid.Verifier, options);
        var b = new SyncNode(TestGrid.Hubs[1], TestGrid.Verifier, options);
        a.Receive(9, new SyncMessage(SyncMessageKind.Deltas) { Items = [.. chains.SelectMany(c => c).Select(d => d.Encode())] }.Encode(), Now, [], []);

        // Every round at the same instant: a stream left out of one round for want of room must not wait for a pause.
        var toA = new List<Outgoing>();
        b.Tick(Now, [0], CatchUpMode.Vectors, toA);
        for (var round = 0; round < 50 && toA.Count > 0; round++)
        {
            var toB = new List<Outgoing>();
            foreach (var message in toA)
                a.Receive(1, message.Message, Now, [1], toB);
            toA.Clear();
            foreach (var message in toB)
                b.Receive(0, message.Message, Now, [0], toA);
        }

        Assert.Equal(24, b.Store.Applied.Count());
    }
}

public class CompactLivePushTests
{
    private const long Now = TestGrid.T0 + 60_000;

    private static SyncNode Node(int hub) => new(TestGrid.Hubs[hub], TestGrid.Verifier, new SyncOptions());

    private static byte[] Item(Outgoing push) => Assert.Single(SyncMessage.TryDecode(push.Message, out _)!.Items);

    [Fact]
    public void Live_deltas_after_the_first_go_compact_and_apply_exactly_as_sent_and_a_relay_passes_them_on_compact()
    {
        var (a, b, c) = (Node(0), Node(1), Node(2));
        var output = new List<Outgoing>();
        var written = new List<SignedDelta>();
        var items = new List<byte[]>();
        for (var i = 0; i < 5; i++)
        {
            output.Clear();
            var t = TestGrid.T0 + (i * 1000L);
            written.Add(a.Write("tank/level", ResolutionTier.Raw, t, t + 1000, TestGrid.Body(t, 1, 20 + i), Now, [1], output)!);
            items.Add(Item(Assert.Single(output)));
            var relayed = new List<Outgoing>();
            b.Receive(0, output[0].Message, Now, [0, 2], relayed);
            c.Receive(1, Assert.Single(relayed, r => r.To == 2).Message, Now, [1], []);
        }

        Assert.False(CompactDelta.Is(items[0]));
        Assert.All(items.Skip(1), item => Assert.True(CompactDelta.Is(item)));
        Assert.All(items.Skip(1), item => Assert.True(item.Length < written[1].EncodedLength - 100, $"{item.Length} B against {written[1].EncodedLength} B in full"));
        // A peer that never had the stream (linked just now) gets the next one in full, the others compact.
        output.Clear();
        a.Write("tank/level", ResolutionTier.Raw, TestGrid.T0 + 5000, TestGrid.T0 + 6000, TestGrid.Body(TestGrid.T0 + 5000, 1, 25), Now, [1, 3], output);
        Assert.True(CompactDelta.Is(Item(output.Single(o => o.To == 1))));
        Assert.False(CompactDelta.Is(Item(output.Single(o => o.To == 3))));

        foreach (var node in new[] { b, c })
        {
            Assert.Equal(written.Select(d => d.Id), node.Store.Applied.Select(d => d.Id));
            Assert.Equal(written.Select(d => d.Encode()), node.Store.Applied.Select(d => d.Encode()));
            Assert.Empty(node.Refusals);
        }
    }

    [Fact]
    public void A_compact_delta_whose_previous_one_was_lost_is_dropped_and_the_next_catch_up_brings_both_in_full()
    {
        var (a, b) = (Node(0), Node(1));
        var output = new List<Outgoing>();
        for (var i = 0; i < 3; i++)
        {
            output.Clear();
            var t = TestGrid.T0 + (i * 1000L);
            a.Write("tank/level", ResolutionTier.Raw, t, t + 1000, TestGrid.Body(t, 1, 20 + i), Now, [1], output);
            if (i != 1)
                b.Receive(0, output[0].Message, Now, [0], []); // the second push is lost on the way
        }

        Assert.Single(b.Store.Applied);
        Assert.Equal(1, b.Refusals["live delta ahead of its previous one"]);

        // B's vector shows what it lacks; A answers with both, in full.
        var exchange = new List<Outgoing>();
        b.Tick(Now, [0], CatchUpMode.Vectors, exchange);
        var answer = new List<Outgoing>();
        a.Receive(1, Assert.Single(exchange).Message, Now, [1], answer);
        var catchUp = answer.Select(o => SyncMessage.TryDecode(o.Message, out _)!).Single(m => m.Kind == SyncMessageKind.CatchUp);
        Assert.All(catchUp.Items, item => Assert.False(CompactDelta.Is(item)));
        foreach (var message in answer.Where(o => o.To == 1))
            b.Receive(0, message.Message, Now, [0], []);
        Assert.Equal(3, b.Store.Applied.Count());
    }

    [Fact]
    public void Damaged_compact_items_never_throw_and_never_apply()
    {
        var (a, b) = (Node(0), Node(1));
        var output = new List<Outgoing>();
        a.Write("tank/level", ResolutionTier.Raw, TestGrid.T0, TestGrid.T0 + 1000, TestGrid.Body(TestGrid.T0, 1, 20), Now, [1], output);
        b.Receive(0, output[0].Message, Now, [0], []);
        output.Clear();
        a.Write("tank/level", ResolutionTier.Raw, TestGrid.T0 + 1000, TestGrid.T0 + 2000, TestGrid.Body(TestGrid.T0 + 1000, 1, 21), Now, [1], output);
        var compact = Item(Assert.Single(output));
        Assert.True(CompactDelta.Is(compact));
        CsCheck.Gen.Int[4, compact.Length - 1].Select(CsCheck.Gen.Byte).Sample((at, value) =>
        {
            var damaged = (byte[])compact.Clone();
            if (damaged[at] == value)
                return;
            damaged[at] = value;
            b.Receive(0, new SyncMessage(SyncMessageKind.Deltas) { Items = [damaged] }.Encode(), Now, [0], []);
            Assert.Single(b.Store.Applied);
        }, iter: 3_000);
    }
}
