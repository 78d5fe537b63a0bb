using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Replication.Tests.Sync;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests.Node;

public sealed class DeviceContextsTests
{
    private const long T0 = 1_800_000_000_000;

    /// <summary>An origin's device stream as the replicator writes it: coded against its own contexts, a key body every <see cref="DeviceContext.KeyEvery"/>.</summary>
    private static (List<SignedDelta> Chain, List<DeviceContext> After, List<DeviceBody> Bodies) Write(int count, Func<int, bool>? restartAt = null)
    {
        var author = new StreamAuthor(TestGrid.Grid, "tank/*", ResolutionTier.Device, TestGrid.Hubs[0]);
        var contexts = new DeviceContexts();
        var key = new StreamKey(TestGrid.Hubs[0].HubId, author.Stream);
        var (chain, after, bodies) = (new List<SignedDelta>(), new List<DeviceContext>(), new List<DeviceBody>());
        for (var i = 0; i < count; i++)
        {
            if (restartAt?.Invoke(i) == true)
                contexts = new DeviceContexts();
            var t = T0 + (i * 1000L);
            var body = new DeviceBody([.. new[] { "flow", "level", "temp" }.Where((_, m) => (i + m) % 5 != 0)
                .Select((m, n) => (m, new PointsBody("W", [t, t + 500], [Math.Round(20 + Math.Sin(i / 30.0 + n), 1), Math.Round(20 + Math.Sin((i + 0.5) / 30.0 + n), 1)], [])))]);
            var bytes = CodedDeviceBody.Encode(body, contexts.ForAuthoring(key, (ulong)i), t, out var next);
            var delta = author.Next(WriteStamp.HlcOf(t + 1000), t, t + 501, bytes);
            contexts.Authored(key, delta.Header.Seq, next);
            chain.Add(delta);
            after.Add(next);
            bodies.Add(body);
        }

        return (chain, after, bodies);
    }

    [Fact]
    public void A_receiver_without_a_cached_context_rebuilds_it_from_the_stream_back_to_its_last_key_body()
    {
        var (chain, after, bodies) = Write(600);
        Assert.Equal(3, chain.Count(d => !CodedDeviceBody.NeedsContext(d.Body))); // seq 1, 257, 513
        var archive = new MemoryDeltaArchive();
        var store = new DeltaStore(300_000, archive);
        foreach (var delta in chain)
            Assert.Equal(OfferOutcome.Applied, store.Offer(delta, WriteStamp.HlcOf(T0 + 10_000_000)).Outcome);
        archive.Save(chain);
        store.MarkSaved();
        var key = StreamKey.Of(chain[0].Header);

        foreach (var seq in new ulong[] { 2, 3, 256, 257, 258, 400, 512, 513, 514, 600 })
        {
            // A cold cache, as after a restart: the context before seq is rebuilt and decodes the delta exactly.
            var cold = new DeviceContexts();
            var context = cold.ForDecoding(key, seq, store.Stream(key));
            Assert.True(context is not null, $"no context rebuilt before seq {seq}");
            Assert.True(context.SameAs(after[(int)seq - 2]), $"the context rebuilt before seq {seq} differs from the author's");
            var delta = chain[(int)seq - 1];
            var decoded = DeviceBody.TryDecode(delta.Body, delta.Header, CodedDeviceBody.NeedsContext(delta.Body) ? context : null, out _, out var error);
            Assert.True(decoded is not null, error);
            Assert.Equal(bodies[(int)seq - 1].ToReadings("tank", "o").Select(r => (r.Reading.Series.Id, r.Reading.TimestampMs, r.Reading.Value)),
                decoded.ToReadings("tank", "o").Select(r => (r.Reading.Series.Id, r.Reading.TimestampMs, r.Reading.Value)));
        }

        // Past what the stream holds there is no chain to read back: no context, nothing guessed.
        Assert.Null(new DeviceContexts().ForDecoding(key, 700, store.Stream(key)));
    }

    [Fact]
    public void An_author_that_lost_its_contexts_writes_a_key_body_and_goes_on_coding_from_there()
    {
        var (chain, after, _) = Write(40, i => i == 17);
        Assert.False(CodedDeviceBody.NeedsContext(chain[17].Body));
        Assert.True(CodedDeviceBody.NeedsContext(chain[18].Body));
        Assert.Equal(0, after[17].Depth);
        DeviceContext? context = null;
        foreach (var delta in chain)
        {
            Assert.NotNull(DeviceBody.TryDecode(delta.Body, delta.Header, context, out var next, out var error) ?? throw new Xunit.Sdk.XunitException(error));
            context = next;
        }

        Assert.True(context!.SameAs(after[^1]));
    }
}
