using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The origins (stores that wrote a point) by number: a point's stamp keeps a small number, the chunk store's
/// <c>origins</c> table the names. Numbers only grow; a name seen for the first time is saved with the next
/// checkpoint.
/// </summary>
internal sealed class OriginRegistry
{
    private const string MadeUpPrefix = "store-";
    private readonly Lock _gate = new();
    private readonly List<string> _names = [];
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private int _saved;

    private OriginRegistry()
    {
    }

    /// <summary>The number of the origin this store stamps its own writes with.</summary>
    public int Local { get; private set; }

    public string LocalName => NameOf(Local);

    /// <summary>
    /// Reads the saved origins and sets the local one: <paramref name="configured"/> when given, else the first this
    /// store ever had, else a new random name.
    /// </summary>
    public static OriginRegistry Load(SqliteConnection index, string? configured, string databasePath)
    {
        var registry = new OriginRegistry();
        using (var command = index.CreateCommand())
        {
            command.CommandText = "SELECT id, name FROM origins ORDER BY id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetInt64(0) != registry._names.Count)
                    throw new InvalidDataException($"{databasePath}: origin numbers are not consecutive; the file was changed by something else.");
                registry.IdOf(reader.GetString(1));
            }
        }

        // A store that made up its name (no host gave one) takes the host's when it first gets one: nothing left
        // the store under the made-up name, so its points become the host's own rather than another origin's.
        if (configured is not null && registry._names.Count > 0 && registry._names[0].StartsWith(MadeUpPrefix, StringComparison.Ordinal) && !registry._ids.ContainsKey(configured))
        {
            using var rename = index.CreateCommand();
            rename.CommandText = "UPDATE origins SET name=$name WHERE id=0";
            rename.Parameters.AddWithValue("$name", configured);
            rename.ExecuteNonQuery();
            registry._ids.Remove(registry._names[0]);
            registry._names[0] = configured;
            registry._ids[configured] = 0;
        }

        registry._saved = registry._names.Count;
        registry.Local = registry.IdOf(configured ?? (registry._names.Count > 0 ? registry._names[0] : MadeUpPrefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))));
        registry.MarkSaved(registry.SaveNew(index, null));
        return registry;
    }

    /// <summary>The number of an origin name, taking in a name not seen before.</summary>
    public int IdOf(string name)
    {
        lock (_gate)
        {
            if (!_ids.TryGetValue(name, out var id))
            {
                id = _names.Count;
                _names.Add(name);
                _ids[name] = id;
            }

            return id;
        }
    }

    public string NameOf(int id)
    {
        lock (_gate)
            return _names[id];
    }

    /// <summary>Writes the origins not yet saved in <paramref name="transaction"/>; returns the count to give <see cref="MarkSaved"/> once it commits.</summary>
    /// <remarks>An origin already there (a commit that reported failure but happened) is left as it is.</remarks>
    public int SaveNew(SqliteConnection index, SqliteTransaction? transaction)
    {
        string[] unsaved;
        int count;
        lock (_gate)
        {
            count = _names.Count;
            unsaved = _names.Skip(_saved).ToArray();
        }

        for (var i = 0; i < unsaved.Length; i++)
        {
            using var command = index.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO origins(id, name) VALUES($id, $name) ON CONFLICT DO NOTHING";
            command.Parameters.AddWithValue("$id", count - unsaved.Length + i);
            command.Parameters.AddWithValue("$name", unsaved[i]);
            command.ExecuteNonQuery();
        }

        return count;
    }

    public void MarkSaved(int count)
    {
        lock (_gate)
            _saved = Math.Max(_saved, count);
    }
}
