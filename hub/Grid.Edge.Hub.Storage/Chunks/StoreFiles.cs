using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// The file operations behind the store's own files (the log, quarantined log bytes): the seam where tests put
/// failing writes, fsyncs and renames, and power cuts. SQLite does its I/O natively, below this seam; the seam for
/// it is the checkpoint's transaction (<see cref="IndexCommitting"/>, <see cref="IndexCommitted"/>).
/// </summary>
internal class StoreFiles
{
    public static readonly StoreFiles Real = new();

    /// <summary>Opens a file for reading and writing, creating it (empty) when missing or when <paramref name="truncate"/>.</summary>
    public virtual IStoreFile Open(string path, bool truncate = false) =>
        new RealFile(File.OpenHandle(path, truncate ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read));

    public virtual bool Exists(string path) => File.Exists(path);

    /// <summary>Renames over <paramref name="to"/> (atomic on one file system); durable once the folder is synced.</summary>
    public virtual void Move(string from, string to) => File.Move(from, to, overwrite: true);

    /// <summary>Makes the folder's entries (created and renamed files) survive a power cut.</summary>
    public virtual void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
            throw new IOException($"Cannot open folder {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Native.fsync(fd) != 0)
                throw new IOException($"Syncing folder {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Native.close(fd);
        }
    }

    /// <summary>Called in a checkpoint's SQLite transaction just before it commits; may throw as SQLite would.</summary>
    public virtual void IndexCommitting()
    {
    }

    /// <summary>Called right after a checkpoint's SQLite transaction committed.</summary>
    public virtual void IndexCommitted()
    {
    }

    private sealed class RealFile(SafeFileHandle handle) : IStoreFile
    {
        public long Length => RandomAccess.GetLength(handle);

        public int Read(Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);

        public void Write(ReadOnlySpan<byte> data, long offset) => RandomAccess.Write(handle, data, offset);

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Sync() => RandomAccess.FlushToDisk(handle);

        public void Dispose() => handle.Dispose();
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable CA2101, SYSLIB1054 // a plain path on Linux; the marshaller's default (UTF-8 there) is right
        public static extern int open(string path, int flags);
#pragma warning restore CA2101, SYSLIB1054

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}

/// <summary>One open file: positioned reads and writes (pread/pwrite), truncation and fsync.</summary>
internal interface IStoreFile : IDisposable
{
    long Length { get; }

    int Read(Span<byte> buffer, long offset);

    void Write(ReadOnlySpan<byte> data, long offset);

    void SetLength(long length);

    /// <summary>fsync: what was written survives a power cut once this returns.</summary>
    void Sync();
}
