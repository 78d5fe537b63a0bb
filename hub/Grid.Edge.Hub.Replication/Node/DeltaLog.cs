using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Reconciliation;
using Grid.Edge.Hub.Replication.Sync;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Replication.Node;

/// <summary>
/// What a hub's sync state machine must find again after a restart: every delta it applied (its own and others'),
/// which is also the archive the sync reads them back from (<see cref="IDeltaArchive"/>: only stream tops and heads
/// stay in memory), the fork proofs, its clock, plus where the authoring of its own writes stands and the addresses
/// peers were last reached at. One SQLite file, <c>&lt;data-dir&gt;/grid/deltas.db</c>, written in WAL mode with full
/// fsync: a delta of this hub is on disk before it is sent, a peer's after its points are merged. The file belongs to
/// one grid: opened for another one, it starts empty.
/// </summary>
internal sealed class DeltaLog : IDisposable, IDeltaArchive
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
            CREATE TABLE IF NOT EXISTS log (origin BLOB NOT NULL, stream BLOB NOT NULL, seq INTEGER NOT NULL, id BLOB NOT NULL,
                hlc INTEGER NOT NULL, t0 INTEGER NOT NULL, points INTEGER NOT NULL, head BLOB NOT NULL, body BLOB NOT NULL, UNIQUE (origin, stream, seq));
            CREATE UNIQUE INDEX IF NOT EXISTS log_id ON log (id);
            CREATE TABLE IF NOT EXISTS proofs (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS peers (hub TEXT PRIMARY KEY, address TEXT NOT NULL, seen INTEGER NOT NULL) WITHOUT ROWID;
            """);
        log.MigrateWholeDeltas();
        var held = log.Meta("grid");
        if (held is not null && !held.AsSpan().SequenceEqual(grid.ToBytes()))
            log.Execute("DELETE FROM log; DELETE FROM proofs; DELETE FROM peers; DELETE FROM meta;");
        log.SetMeta("grid", grid.ToBytes());
        return log;
    }

    /// <summary>The proofs and the clock; the deltas stay here and are read as the sync needs them.</summary>
    public PersistedSync Load()
    {
        var proofs = ReadAll("SELECT data FROM proofs");
        var hlc = Meta("hlc") is { Length: 8 } bytes ? BitConverter.ToInt64(bytes) : 0;
        return new PersistedSync([], proofs, hlc);
    }

    public long Count => (long)Scalar("SELECT COUNT(*) FROM log")!;

    public IEnumerable<(StreamKey Stream, ulong Top, SignedDelta Head)> Heads()
    {
        using var command = _db.CreateCommand();
        command.CommandText = """
            SELECT l.seq, l.head FROM log l
            JOIN (SELECT origin, stream, MAX(seq) AS top FROM log GROUP BY origin, stream) t
              ON l.origin = t.origin AND l.stream = t.stream AND l.seq = t.top
            """;
        using var reader = command.ExecuteReader();
        var heads = new List<(StreamKey, ulong, SignedDelta)>();
        while (reader.Read())
        {
            var head = SignedDelta.TryDecodeSignedHeader((byte[])reader.GetValue(1), out var error)
                ?? throw new InvalidDataException($"a delta in {_db.DataSource} is damaged: {error}");
            heads.Add((StreamKey.Of(head.Header), (ulong)reader.GetInt64(0), head));
        }

        return heads;
    }

    public IReadOnlyList<SignedDelta> Range(StreamKey stream, ulong from, int count)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT head, body FROM log WHERE origin=$origin AND stream=$stream AND seq>=$from ORDER BY seq LIMIT $count";
        command.Parameters.AddWithValue("$origin", stream.Origin.ToBytes());
        command.Parameters.AddWithValue("$stream", stream.Stream.ToBytes());
        command.Parameters.AddWithValue("$from", (long)from);
        command.Parameters.AddWithValue("$count", count);
        return ReadDeltas(command);
    }

    public Hash256? IdAt(StreamKey stream, ulong seq)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT id FROM log WHERE origin=$origin AND stream=$stream AND seq=$seq";
        command.Parameters.AddWithValue("$origin", stream.Origin.ToBytes());
        command.Parameters.AddWithValue("$stream", stream.Stream.ToBytes());
        command.Parameters.AddWithValue("$seq", (long)seq);
        return command.ExecuteScalar() is byte[] { Length: Hash256.Size } id ? Hash256.Read(id) : null;
    }

    public SignedDelta? Find(Hash256 id)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT head, body FROM log WHERE id=$id";
        command.Parameters.AddWithValue("$id", id.ToBytes());
        return ReadDeltas(command).FirstOrDefault();
    }

    public IEnumerable<ReconcileItem> Items()
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT hlc, id FROM log ORDER BY hlc, id";
        using var reader = command.ExecuteReader();
        var items = new List<ReconcileItem>();
        while (reader.Read())
            items.Add(new ReconcileItem((ulong)reader.GetInt64(0), Hash256.Read((byte[])reader.GetValue(1))));
        return items;
    }

    /// <summary>The earliest data time and the points of a stream's deltas from <paramref name="from"/> on (its readings that no other hub holds yet).</summary>
    public (long Since, long Points) Unconfirmed(StreamKey stream, ulong from)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT COALESCE(MIN(t0), -1), COALESCE(SUM(points), 0) FROM log WHERE origin=$origin AND stream=$stream AND seq>=$from";
        command.Parameters.AddWithValue("$origin", stream.Origin.ToBytes());
        command.Parameters.AddWithValue("$stream", stream.Stream.ToBytes());
        command.Parameters.AddWithValue("$from", (long)from);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The points in a stream's deltas <paramref name="from"/>..<paramref name="to"/> and the oldest clock among them: how far behind a peer that lacks them is.</summary>
    public (long Points, long OldestHlc) Summarize(StreamKey stream, ulong from, ulong to)
    {
        using var command = _db.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(points), 0), COALESCE(MIN(hlc), 0) FROM log WHERE origin=$origin AND stream=$stream AND seq BETWEEN $from AND $to";
        command.Parameters.AddWithValue("$origin", stream.Origin.ToBytes());
        command.Parameters.AddWithValue("$stream", stream.Stream.ToBytes());
        command.Parameters.AddWithValue("$from", (long)from);
        command.Parameters.AddWithValue("$to", (long)to);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
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
        Insert(deltas);

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
        command.CommandText = "DELETE FROM log WHERE id=$id";
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

    private void Insert(IEnumerable<SignedDelta> deltas)
    {
        using var insert = _db.CreateCommand();
        insert.CommandText = """
            INSERT OR IGNORE INTO log (origin, stream, seq, id, hlc, t0, points, head, body)
            VALUES ($origin, $stream, $seq, $id, $hlc, $t0, $points, $head, $body)
            """;
        var origin = insert.Parameters.Add("$origin", SqliteType.Blob);
        var stream = insert.Parameters.Add("$stream", SqliteType.Blob);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var id = insert.Parameters.Add("$id", SqliteType.Blob);
        var hlc = insert.Parameters.Add("$hlc", SqliteType.Integer);
        var points = insert.Parameters.Add("$points", SqliteType.Integer);
        var t0 = insert.Parameters.Add("$t0", SqliteType.Integer);
        var head = insert.Parameters.Add("$head", SqliteType.Blob);
        var body = insert.Parameters.Add("$body", SqliteType.Blob);
        foreach (var delta in deltas)
        {
            origin.Value = delta.Header.Origin.ToBytes();
            stream.Value = delta.Header.Stream.ToBytes();
            seq.Value = (long)delta.Header.Seq;
            id.Value = delta.Id.ToBytes();
            hlc.Value = delta.Header.Hlc;
            t0.Value = delta.Header.T0;
            points.Value = delta.Header.Tier switch
            {
                ResolutionTier.Raw => PointsBody.CountOf(delta.Body),
                ResolutionTier.Device => DeviceBody.CountOf(delta.Body),
                _ => 0,
            };
            head.Value = delta.EncodeSignedHeader();
            body.Value = delta.Body;
            insert.ExecuteNonQuery();
        }
    }

    private List<SignedDelta> ReadDeltas(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var deltas = new List<SignedDelta>();
        while (reader.Read())
        {
            byte[] encoded = [.. (byte[])reader.GetValue(0), .. (byte[])reader.GetValue(1)];
            deltas.Add(SignedDelta.TryDecode(encoded, out var error) ?? throw new InvalidDataException($"a delta in {_db.DataSource} is damaged: {error}"));
        }

        return deltas;
    }

    /// <summary>The first grid release kept each delta whole in a table of its own: moved into the log once.</summary>
    private void MigrateWholeDeltas()
    {
        if (Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='deltas'") is not long tables || tables == 0)
            return;
        using var transaction = _db.BeginTransaction();
        var old = ReadAll("SELECT data FROM deltas");
        Insert(old.Select(bytes => SignedDelta.TryDecode(bytes, out _)).OfType<SignedDelta>());
        Execute("DROP TABLE deltas");
        transaction.Commit();
    }

    private object? Scalar(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

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
