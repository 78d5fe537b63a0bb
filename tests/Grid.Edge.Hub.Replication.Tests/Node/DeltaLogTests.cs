using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Replication.Sync;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Testing;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Replication.Tests.Node;

public sealed class DeltaLogTests : IDisposable
{
    private const long Now = TestGrid.T0 + 60_000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<SignedDelta> PointsChain(int hub, string series, int count)
    {
        var author = new StreamAuthor(TestGrid.Grid, series, ResolutionTier.Raw, TestGrid.Hubs[hub]);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var t = TestGrid.T0 + (i * 10_000L);
            var body = new PointsBody("°C", [t, t + 1000, t + 2000], [i, i + 0.5, i + 1], []).Encode();
            return author.Next(TestGrid.Hlc(t + 10_000) + i, t, t + 3000, body);
        })];
    }

    [Fact]
    public void Saved_deltas_leave_memory_are_read_back_for_a_peer_and_a_restart_continues_from_the_file()
    {
        var chains = new[] { PointsChain(0, "weather1/temperature", 30), PointsChain(1, "van/speed", 10) };
        using (var log = DeltaLog.Open(_dir.Path, TestGrid.Grid))
        {
            var node = new SyncNode(TestGrid.Hubs[2], TestGrid.Verifier, new SyncOptions(), log.Load(), archive: log);
            node.Receive(0, new SyncMessage(SyncMessageKind.Deltas) { Items = [.. chains.SelectMany(c => c).Select(d => d.Encode())] }.Encode(), Now, [], []);
            log.Save(node.DrainChanges().Select(c => c.Delta), node.Store.Proofs, node.LastHlc);
            node.Store.MarkSaved();
            Assert.All(node.Store.Streams, s => Assert.Equal(0, s.UnsavedCount));
            Assert.Equal(40, log.Count);
            Assert.Equal((25L * 3, chains[0][5].Header.Hlc), log.Summarize(StreamKey.Of(chains[0][0].Header), 6, 30));
        }

        // After a restart only the tops and heads come back into memory; a peer with nothing gets every delta, from the file.
        using (var log = DeltaLog.Open(_dir.Path, TestGrid.Grid))
        {
            var node = new SyncNode(TestGrid.Hubs[2], TestGrid.Verifier, new SyncOptions { CatchUpBytes = 1 << 20 }, log.Load(), archive: log);
            Assert.Equal(40, node.Store.Count);
            Assert.Equal(new ulong[] { 30, 10 }.Order(), node.Store.Streams.Select(s => s.Top).Order());
            Assert.All(node.Store.Streams, s => Assert.Empty(s.Head!.Body));
            var peer = new SyncNode(TestGrid.Hubs[3], TestGrid.Verifier, new SyncOptions());
            var toNode = new List<Outgoing>();
            peer.Tick(Now, [0], CatchUpMode.Vectors, toNode);
            var toPeer = new List<Outgoing>();
            node.Receive(1, toNode.Single().Message, Now, [1], toPeer);
            foreach (var message in toPeer)
                peer.Receive(0, message.Message, Now, [0], []);
            Assert.Equal(chains.SelectMany(c => c).Select(d => d.Id).Order(), peer.Store.Applied.Select(d => d.Id).Order());

            // The same version of a seq is no news, another one is a fork found against the file.
            var author = new StreamAuthor(TestGrid.Grid, "van/speed", ResolutionTier.Raw, TestGrid.Hubs[1], chains[1][3]);
            var other = author.Next(chains[1][4].Header.Hlc + 1, TestGrid.T0, TestGrid.T0 + 10, new PointsBody("km/h", [TestGrid.T0], [1], []).Encode());
            Assert.True(node.Store.Holds(chains[1][4]));
            Assert.False(node.Store.Holds(other));
            node.Receive(1, new SyncMessage(SyncMessageKind.Deltas) { Items = [other.Encode()] }.Encode(), Now, [], []);
            Assert.Equal(5UL, Assert.Single(node.Store.Proofs).Seq);
            Assert.Equal(4UL, node.Store.Stream(StreamKey.Of(other.Header))!.Top);
            var withdrawn = node.DrainChanges().Where(c => c.Withdrawn).Select(c => c.Delta.Header.Seq).Order();
            Assert.Equal(new ulong[] { 5, 6, 7, 8, 9, 10 }, withdrawn);
        }
    }

    [Fact]
    public void A_log_of_the_first_grid_release_is_moved_into_the_new_table_when_opened()
    {
        var chain = PointsChain(0, "weather1/temperature", 3);
        var folder = Path.Combine(_dir.Path, "grid");
        Directory.CreateDirectory(folder);
        using (var db = new SqliteConnection($"Data Source={Path.Combine(folder, "deltas.db")};Pooling=False"))
        {
            db.Open();
            using var create = db.CreateCommand();
            create.CommandText = """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE deltas (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
                """;
            create.ExecuteNonQuery();
            foreach (var delta in chain)
            {
                using var insert = db.CreateCommand();
                insert.CommandText = "INSERT INTO deltas (id, data) VALUES ($id, $data)";
                insert.Parameters.AddWithValue("$id", delta.Id.ToBytes());
                insert.Parameters.AddWithValue("$data", delta.Encode());
                insert.ExecuteNonQuery();
            }

            using var meta = db.CreateCommand();
            meta.CommandText = "INSERT INTO meta (key, value) VALUES ('grid', $grid)";
            meta.Parameters.AddWithValue("$grid", TestGrid.Grid.ToBytes());
            meta.ExecuteNonQuery();
        }

        using var log = DeltaLog.Open(_dir.Path, TestGrid.Grid);
        Assert.Equal(3, log.Count);
        var key = StreamKey.Of(chain[0].Header);
        Assert.Equal((key, 3UL, chain[2].Id), log.Heads().Select(h => (h.Stream, h.Top, h.Head.Id)).Single());
        Assert.Equal(chain.Select(d => d.Id), log.Range(key, 1, 10).Select(d => d.Id));
        Assert.Equal(chain[1].Body, log.Find(chain[1].Id)!.Body);
        Assert.Equal(chain[2].Id, log.IdAt(key, 3));
        Assert.Null(log.IdAt(key, 4));
        Assert.Equal((6L, chain[1].Header.Hlc), log.Summarize(key, 2, 3));
    }
}
