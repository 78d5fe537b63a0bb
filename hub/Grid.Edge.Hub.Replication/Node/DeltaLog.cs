using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Sync;
using Grid.Edge.Hub.Replication.Wire;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Replication.Node;

/// <summary>
/// What a hub's sync state machine must find again after a restart (<see cref="PersistedSync"/>): every delta it
/// applied (its own and others'), the fork proofs, its clock, plus where the authoring of its own writes stands and
/// the addresses peers were last reached at. One SQLite file, <c>&lt;data-dir&gt;/grid/deltas.db</c>, written in
/// WAL mode with full fsync: a delta of this hub is on disk before it is sent, a peer's after its points are merged.
/// The file belongs to one grid: opened for another one, it starts empty.
/// </summary>
internal sealed class DeltaLog : IDisposable
{
    private readonly SqliteConnection _db;

    private DeltaLog(SqliteConnection db) => _db = db;

    public static DeltaLog Open(string dataDirectory, Id128 grid)
    {
        var folder = Path.Combine(dataDirectory, "grid");
        Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(folder, "deltas.db"), Pooling = false }.ToString());
        db.Open();
        var log = new DeltaLog(db);
        log.Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
        log.Execute("""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS deltas (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS proofs (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS peers (hub TEXT PRIMARY KEY, address TEXT NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID;
            """);
        var held = log.Meta("grid");
        if (held is not null && !held.AsSpan().SequenceEqual(grid.ToBytes()))
            log.Execute("DELETE FROM deltas; DELETE FROM proofs; DELETE FROM peers; DELETE FROM meta;");
        log.SetMeta("grid", grid.ToBytes());
        return log;
    }

    public PersistedSync Load()
    {
        var deltas = ReadAll("SELECT data FROM deltas");
        var proofs = ReadAll("SELECT data FROM proofs");
        var hlc = Meta("hlc") is { Length: 8 } bytes ? BitConverter.ToInt64(bytes) : 0;
        return new PersistedSync(deltas, proofs, hlc);
    }

    /// <summary>Change number of the store up to which this hub's own writes are known to be in deltas (0: none).</summary>
    public long AuthorCursor
    {
        get => Meta("author-cursor") is { Length: 8 } bytes ? BitConverter.ToInt64(bytes) : 0;
        set => SetMeta("author-cursor", BitConverter.GetBytes(value));
    }

    /// <summary>Keeps applied deltas, proofs and the clock in one durable transaction.</summary>
    public void Save(IEnumerable<SignedDelta> deltas, IEnumerable<ForkProof> proofs, long lastHlc)
    {
        using var transaction = _db.BeginTransaction();
        using (var insert = _db.CreateCommand())
        {
            insert.CommandText = "INSERT OR IGNORE INTO deltas (id, data) VALUES ($id, $data)";
            var id = insert.Parameters.Add("$id", SqliteType.Blob);
            var data = insert.Parameters.Add("$data", SqliteType.Blob);
            foreach (var delta in deltas)
            {
                id.Value = delta.Id.ToBytes();
                data.Value = delta.Encode();
                insert.ExecuteNonQuery();
            }
        }

        using (var insert = _db.CreateCommand())
        {
            insert.CommandText = "INSERT OR REPLACE INTO proofs (id, data) VALUES ($id, $data)";
            var id = insert.Parameters.Add("$id", SqliteType.Blob);
            var data = insert.Parameters.Add("$data", SqliteType.Blob);
            foreach (var proof in proofs)
            {
                id.Value = (byte[])[.. proof.Stream.ToBytes(), .. proof.Origin.ToBytes()];
                data.Value = proof.Encode();
                insert.ExecuteNonQuery();
            }
        }

        SetMeta("hlc", BitConverter.GetBytes(lastHlc));
        transaction.Commit();
    }

    /// <summary>Takes out deltas a fork withdrew (they are at or above the fork's seq and never apply again).</summary>
    public void Withdraw(IEnumerable<SignedDelta> deltas)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "DELETE FROM deltas WHERE id=$id";
        var id = command.Parameters.Add("$id", SqliteType.Blob);
        foreach (var delta in deltas)
        {
            id.Value = delta.Id.ToBytes();
            command.ExecuteNonQuery();
        }
    }

    public IReadOnlyList<(Id128 Hub, string Address)> Peers()
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT hub, address FROM peers ORDER BY seen DESC";
        using var reader = command.ExecuteReader();
        var peers = new List<(Id128, string)>();
        while (reader.Read())
        {
            if (Id128.TryParse(reader.GetString(0), out var hub))
                peers.Add((hub, reader.GetString(1)));
        }

        return peers;
    }

    public void RememberPeer(Id128 hub, string address, long nowMs)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO peers (hub, address, seen) VALUES ($hub, $address, $seen)";
        command.Parameters.AddWithValue("$hub", hub.ToString());
        command.Parameters.AddWithValue("$address", address);
        command.Parameters.AddWithValue("$seen", nowMs);
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();

    private List<byte[]> ReadAll(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<byte[]>();
        while (reader.Read())
            rows.Add((byte[])reader.GetValue(0));
        return rows;
    }

    private byte[]? Meta(string key)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key=$key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() as byte[];
    }

    private void SetMeta(string key, byte[] value)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO meta (key, value) VALUES ($key, $value)";
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.ExecuteNonQuery();
    }

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
