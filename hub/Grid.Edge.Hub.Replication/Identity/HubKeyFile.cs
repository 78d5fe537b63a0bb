using System.Text;

namespace Grid.Edge.Hub.Replication.Identity;

/// <summary>
/// The hub's private key on disk: one line of text (a format name, then the base64 seed), readable by the owner
/// only. Made once on first start; never replaced by this code, because a new key is a new hub for the grid.
/// </summary>
internal static class HubKeyFile
{
    private const string Format = "grid-edge-hub-key-v1";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Loads the key at <paramref name="path"/>, or makes and stores a new one when there is no file.</summary>
    /// <exception cref="InvalidDataException">The file exists but is unreadable, damaged or open to others (the message says what to do).</exception>
    public static HubKeys LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return File.Exists(path) ? Load(path) : Create(path);
    }

    public static HubKeys Load(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
                throw new InvalidDataException($"the hub key file {path} can be read by other users (mode {Convert.ToString((int)mode, 8)}): run 'chmod 600 {path}' and check who has seen it");
        }

        var text = File.ReadAllText(path, Encoding.ASCII).Trim();
        var parts = text.Split(' ');
        byte[] seed;
        try
        {
            seed = parts.Length == 2 && parts[0] == Format ? Convert.FromBase64String(parts[1]) : [];
        }
        catch (FormatException)
        {
            seed = [];
        }

        if (seed.Length != 32)
            throw new InvalidDataException($"the hub key file {path} is damaged (expected '{Format} <base64 of 32 bytes>'): restore it from a backup; deleting it makes this hub a new member that must join the grid again");
        return HubKeys.FromSeed(seed);
    }

    /// <summary>
    /// Writes a new key beside the target, flushed to the card with owner-only mode from its creation, then moves it
    /// into place without overwriting: a concurrent start that got there first keeps its key and we load that one.
    /// </summary>
    public static HubKeys Create(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        using var keys = HubKeys.Create();
        var temporary = $"{full}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.ASCII.GetBytes($"{Format} {Convert.ToBase64String(keys.ExportSeed())}\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: false);
        }
        catch (IOException) when (File.Exists(full))
        {
            // Another process made the key between our check and our move: its key is the hub's key.
        }
        finally
        {
            File.Delete(temporary);
        }

        return Load(full);
    }
}
