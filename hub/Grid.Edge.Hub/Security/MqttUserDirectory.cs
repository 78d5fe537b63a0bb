using System.Text;
using Grid.Edge.Protocol.Files;
using Grid.Edge.Protocol.Topics;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Security;

/// <summary>
/// MQTT users: lines <c>name:hash</c> in the users file, plus users from configuration. The file is re-read when
/// it changes, so adding or removing a user needs no restart. Only password hashes are ever stored.
/// </summary>
public sealed class MqttUserDirectory
{
    private readonly string _path;
    private readonly IReadOnlyDictionary<string, string> _configured;
    private readonly ILogger _logger;
    private static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _ephemeral = new(StringComparer.Ordinal);
    private Dictionary<string, string> _fromFile = new(StringComparer.Ordinal);
    private DateTime _loadedWriteTime = DateTime.MinValue;
    private DateTime _loadedAt = DateTime.MinValue;
    private long _loadedLength = -1;

    public MqttUserDirectory(string path, IReadOnlyDictionary<string, string> configured, ILogger logger)
    {
        _path = path;
        _configured = configured;
        _logger = logger;
        foreach (var (name, hash) in configured)
        {
            if (!UsersFile.IsWellFormedEntry(hash))
                throw new InvalidOperationException($"Configured MQTT user '{name}' has no valid password hash; create one with 'users hash'.");
        }
    }

    public string FilePath => _path;

    /// <summary>A user for this run only (the demo devices when anonymous access is off); never written anywhere.</summary>
    public void AddEphemeral(string userName, string password, bool service = false)
    {
        lock (_gate)
            _ephemeral[userName] = UsersFile.Entry(PasswordHash.Create(password, iterations: 1000), service);
    }

    /// <summary>True while the user exists (a revoked user's sessions are closed).</summary>
    public bool Exists(string userName) => Lookup(userName) is not null;

    /// <summary>
    /// The user's entry (salted password hash and role) when the password is right, else null. The entry is the
    /// credential's version: a new password or role gives another entry, so sessions opened with the old one close.
    /// </summary>
    public string? Authenticate(string userName, string password)
    {
        var entry = Lookup(userName);
        return entry is not null && PasswordHash.Verify(password, UsersFile.Split(entry).Hash) ? entry : null;
    }

    /// <summary>The user's current entry, or null when there is no such user.</summary>
    public string? EntryOf(string userName) => Lookup(userName);

    public IReadOnlyCollection<string> Names
    {
        get
        {
            Refresh();
            lock (_gate)
                return _fromFile.Keys.Concat(_configured.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        }
    }

    private string? Lookup(string userName)
    {
        Refresh();
        lock (_gate)
        {
            if (_fromFile.TryGetValue(userName, out var hash) || _ephemeral.TryGetValue(userName, out hash))
                return hash;
        }

        return _configured.GetValueOrDefault(userName);
    }

    private void Refresh()
    {
        var info = new FileInfo(_path);
        var writeTime = info.Exists ? info.LastWriteTimeUtc : DateTime.MinValue;
        var length = info.Exists ? info.Length : -1;
        lock (_gate)
        {
            // A change written in the same clock tick as the last read keeps time and length (a new password hash
            // has the same length): like git's racy-file rule, a file written shortly before it was read is read again.
            if (writeTime == _loadedWriteTime && length == _loadedLength && _loadedAt - writeTime > RacyWindow)
                return;
            _loadedWriteTime = writeTime;
            _loadedLength = length;
            _loadedAt = DateTime.UtcNow;
            try
            {
                _fromFile = info.Exists ? UsersFile.Read(_path, _logger) : new Dictionary<string, string>(StringComparer.Ordinal);
            }
            catch (IOException ex)
            {
                _logger.LogError(ex, "Cannot read the MQTT users file {Path}; keeping the users loaded before", _path);
            }
        }
    }
}

/// <summary>The users file: one <c>name:hash</c> per line, # comments; written atomically, readable by the owner only.</summary>
internal static class UsersFile
{
    public static Dictionary<string, string> Read(string path, ILogger? logger = null)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = colon > 0 ? line[..colon] : string.Empty;
            var hash = colon > 0 ? line[(colon + 1)..] : string.Empty;
            if (!IsValidUserName(name) || !IsWellFormedEntry(hash))
            {
                logger?.LogWarning("{Path} line {Line}: expected 'name:$pbkdf2-sha256$...' (optionally ':service'); line ignored", path, number);
                continue;
            }

            users[name] = hash;
        }

        return users;
    }

    public static void Write(string path, IReadOnlyDictionary<string, string> users)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var text = new StringBuilder("# Grid.Edge MQTT users: name:password-hash[:service]. Manage with 'Grid.Edge.Hub users'.\n");
        foreach (var (name, hash) in users.OrderBy(u => u.Key, StringComparer.Ordinal))
            text.Append(name).Append(':').Append(hash).Append('\n');
        DurableFile.WriteAllText(path, text.ToString(), ownerOnly: true);
    }

    public const string ServiceRole = "service";

    /// <summary>An entry is a password hash, optionally followed by ":service" for users not bound to one device.</summary>
    public static (string Hash, bool Service) Split(string entry)
    {
        var colon = entry.LastIndexOf(':');
        return colon > 0 && entry[(colon + 1)..] == ServiceRole ? (entry[..colon], true) : (entry, false);
    }

    public static string Entry(string hash, bool service) => service ? hash + ":" + ServiceRole : hash;

    public static bool IsWellFormedEntry(string entry) => PasswordHash.IsWellFormed(Split(entry).Hash);

    /// <summary>User names follow the topic segment rule, so a device's user name can be its device id.</summary>
    public static bool IsValidUserName(string name) => GridTopic.IsValidSegment(name, out _);
}
