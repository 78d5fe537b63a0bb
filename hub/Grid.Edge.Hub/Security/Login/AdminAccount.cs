using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Grid.Edge.Hub.Security.Login;

/// <summary>An API token as stored: its name and the SHA-256 of the token (the token itself is shown once, never kept).</summary>
internal sealed record ApiTokenEntry(string Name, string Sha256, DateTimeOffset CreatedAt);

/// <summary>
/// The contents of <c>admin.json</c>: the admin's password hash, a stamp that changes with every credential change
/// (sessions signed in under another stamp are closed), and the API tokens for scripts.
/// </summary>
internal sealed record AdminFileContent(string? PasswordHash, string? Stamp, IReadOnlyList<ApiTokenEntry> Tokens)
{
    public static readonly AdminFileContent Empty = new(null, null, []);

    public bool HasAdmin => PasswordHash is not null && Stamp is not null;
}

/// <summary>
/// The dashboard and API admin account in <c>&lt;data-dir&gt;/admin.json</c> (owner-only, replaced atomically).
/// The command line (<c>admin set-password</c>, <c>admin token create</c>) and the running hub both use it; the hub
/// re-reads the file when it changes, so a new password closes old sessions and a revoked token stops at once.
/// </summary>
internal sealed class AdminAccount
{
    public const string FileName = "admin.json";
    public const string TokenPrefix = "gridtk_";
    public const int MinPasswordLength = 8;

    private static readonly Lock WriteLock = new();
    private static readonly JsonSerializerOptions Shape = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly Lock _gate = new();
    private AdminFileContent _content = AdminFileContent.Empty;
    private DateTime _loadedWriteTime = DateTime.MinValue;
    private long _loadedLength = -1;

    public AdminAccount(string path)
    {
        Path = path;
        try
        {
            _content = Read(path);
        }
        catch (InvalidDataException ex)
        {
            throw new Configuration.HubConfigurationException(ex.Message, ex);
        }
    }

    public string Path { get; }

    public static string PathIn(string dataDir) => System.IO.Path.Combine(dataDir, FileName);

    /// <summary>The file as it is now (re-read when it changed on disk).</summary>
    public AdminFileContent Current
    {
        get
        {
            Refresh();
            lock (_gate)
                return _content;
        }
    }

    public bool HasAdmin => Current.HasAdmin;

    /// <summary>The current credential stamp, or null while no admin exists.</summary>
    public string? Stamp => Current.Stamp;

    public bool VerifyPassword(string password)
    {
        var current = Current;
        return current.HasAdmin && Security.PasswordHash.Verify(password, current.PasswordHash!);
    }

    /// <summary>The name of the token, or null when it is not one of ours.</summary>
    public string? VerifyToken(string token)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 200)
            return null;
        var presented = Convert.FromHexString(Hash(token));
        foreach (var entry in Current.Tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, Convert.FromHexString(entry.Sha256)))
                return entry.Name;
        }

        return null;
    }

    /// <summary>Sets the admin password; a new stamp closes every session signed in before.</summary>
    public static void SetPassword(string path, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length < MinPasswordLength)
            throw new ArgumentException($"Use a password of at least {MinPasswordLength} characters.", nameof(password));
        Edit(path, c => c with { PasswordHash = Security.PasswordHash.Create(password), Stamp = NewStamp() });
    }

    /// <summary>Sets the password only when no admin exists yet (the first-run page); false when one does.</summary>
    public static bool TrySetFirstPassword(string path, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var created = false;
        Edit(path, c =>
        {
            if (c.HasAdmin)
                return c;
            created = true;
            return c with { PasswordHash = Security.PasswordHash.Create(password), Stamp = NewStamp() };
        });
        return created;
    }

    /// <summary>Creates (or replaces) the token of that name and returns it: the only time it is ever shown.</summary>
    public static string CreateToken(string path, string name)
    {
        if (!UsersFile.IsValidUserName(name))
            throw new ArgumentException($"'{name}' is not a valid token name (1-64 of A-Z a-z 0-9 _ . -).", nameof(name));
        var token = TokenPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Edit(path, c => c with { Tokens = [.. c.Tokens.Where(t => t.Name != name), new ApiTokenEntry(name, Hash(token), DateTimeOffset.UtcNow)] });
        return token;
    }

    /// <summary>Removes a token; false when there is none of that name.</summary>
    public static bool RevokeToken(string path, string name)
    {
        var removed = false;
        Edit(path, c =>
        {
            removed = c.Tokens.Any(t => t.Name == name);
            return c with { Tokens = c.Tokens.Where(t => t.Name != name).ToList() };
        });
        return removed;
    }

    public static AdminFileContent Read(string path)
    {
        if (!File.Exists(path))
            return AdminFileContent.Empty;
        AdminFileContent? content;
        try
        {
            content = JsonSerializer.Deserialize<AdminFileContent>(File.ReadAllText(path), Shape);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path} is not a valid admin file ({ex.Message}); set the password again with 'Grid.Edge.Hub admin set-password'.", ex);
        }

        if (content is null || (content.PasswordHash is not null && !Security.PasswordHash.IsWellFormed(content.PasswordHash)))
            throw new InvalidDataException($"{path} holds no valid password hash; set the password again with 'Grid.Edge.Hub admin set-password'.");
        return content with { Tokens = content.Tokens ?? [] };
    }

    private static void Edit(string path, Func<AdminFileContent, AdminFileContent> change)
    {
        lock (WriteLock)
        {
            var changed = change(Read(path));
            Protocol.Files.DurableFile.WriteAllText(path, JsonSerializer.Serialize(changed, Shape), ownerOnly: true);
        }
    }

    private static string NewStamp() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private void Refresh()
    {
        var info = new FileInfo(Path);
        var writeTime = info.Exists ? info.LastWriteTimeUtc : DateTime.MinValue;
        var length = info.Exists ? info.Length : -1;
        lock (_gate)
        {
            if (writeTime == _loadedWriteTime && length == _loadedLength)
                return;
            try
            {
                _content = Read(Path);
                _loadedWriteTime = writeTime;
                _loadedLength = length;
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                // A file being replaced or damaged: nobody is let in on it (fail closed) until it reads again.
                _content = AdminFileContent.Empty;
            }
        }
    }
}
