using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Grid.Edge.Obd.Tests;

/// <summary>
/// A Linux pseudo-terminal pair: the simulated adapter serves the master side, the agent opens the slave path
/// (/dev/pts/N) as a serial port, exactly as it opens /dev/ttyUSB0.
/// </summary>
internal sealed partial class PseudoTerminal : IDisposable
{
    private const int ReadWrite = 2;
    private const int NoControllingTerminal = 0x100;

    private PseudoTerminal(SafeFileHandle master, string slavePath)
    {
        Master = new FileStream(master, FileAccess.ReadWrite, 1);
        SlavePath = slavePath;
    }

    public FileStream Master { get; }

    public string SlavePath { get; }

    public static PseudoTerminal Open()
    {
        var fd = PosixOpenpt(ReadWrite | NoControllingTerminal);
        if (fd < 0)
            throw new InvalidOperationException("posix_openpt failed: " + Marshal.GetLastPInvokeError());
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Grantpt(fd) != 0 || Unlockpt(fd) != 0)
            throw new InvalidOperationException("grantpt/unlockpt failed: " + Marshal.GetLastPInvokeError());
        var name = new byte[128];
        if (PtsnameR(fd, name, name.Length) != 0)
            throw new InvalidOperationException("ptsname_r failed");
        var path = System.Text.Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        return new PseudoTerminal(handle, path);
    }

    public void Dispose() => Master.Dispose();

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int Grantpt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int Unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static partial int PtsnameR(int fd, byte[] buffer, nint length);
}
