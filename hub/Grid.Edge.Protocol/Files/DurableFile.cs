using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Grid.Edge.Protocol.Files;

/// <summary>
/// Replaces a small state file (the hub's vehicles, rain resets, alerts, retained messages, users and pairing codes;
/// the agent's credentials) so that a power cut leaves either the old or the new content, never a torn one. The new
/// content goes to a temporary file of its own (a unique name, so two writers never share one), created with its final
/// permissions, synced to the card, renamed over the old file, and the folder synced so the rename itself survives.
/// Writers of the same file in this process take turns.
/// </summary>
public static class DurableFile
{
    private const UnixFileMode OwnerOnlyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // One lock per file ever written: a process writes a handful of state files.
    private static readonly ConcurrentDictionary<string, Lock> Writers = new(StringComparer.Ordinal);

    public static void WriteAllText(string path, string text, bool ownerOnly = false) =>
        Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)), ownerOnly);

    public static void WriteAllBytes(string path, byte[] bytes, bool ownerOnly = false) =>
        Write(path, stream => stream.Write(bytes), ownerOnly);

    /// <summary>
    /// Replaces <paramref name="path"/> with what <paramref name="write"/> puts in the stream. <paramref name="ownerOnly"/>
    /// creates the file readable and writable by its owner only (0600) from the first byte, for secrets.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool ownerOnly = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = $"{full}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = ownerOnly ? OwnerOnlyMode : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        lock (Writers.GetOrAdd(full, _ => new Lock()))
        {
            try
            {
                using (var stream = new FileStream(temporary, options))
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, full, overwrite: true);
            }
            catch
            {
                TryDelete(temporary);
                throw;
            }

            SyncFolder(folder);
        }
    }

    /// <summary>
    /// Moves a file that could not be read out of the way (kept beside it for a person to look at) and says where.
    /// </summary>
    public static string SetAside(string path)
    {
        var aside = $"{path}.damaged-{DateTime.UtcNow:yyyyMMddHHmmss}";
        File.Move(path, aside, overwrite: true);
        SyncFolder(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return aside;
    }

    /// <summary>
    /// Syncs a folder's entries (fsync of the directory), so that a file renamed into it is still there after a power
    /// cut. .NET opens no directories, so this asks libc directly; elsewhere than Linux and macOS it does nothing.
    /// </summary>
    public static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return;
        var descriptor = Native.open(Encoding.UTF8.GetBytes(folder + "\0"), 0); // O_RDONLY
        if (descriptor < 0)
            throw new IOException($"cannot open folder {folder} to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Native.fsync(descriptor) != 0)
                throw new IOException($"cannot sync folder {folder} (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Native.close(descriptor);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int open(byte[] path, int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fsync(int descriptor);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int descriptor);
    }
}
