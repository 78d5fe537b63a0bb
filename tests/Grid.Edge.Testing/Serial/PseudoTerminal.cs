using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Grid.Edge.Testing.Serial;

/// <summary>
/// A Linux pseudo-terminal pair: a simulated serial device serves the master side, the code under test opens the
/// slave path (/dev/pts/N) as a serial port, exactly as it opens /dev/ttyUSB0. The pair keeps the slave open itself,
/// so the line stays up while the code under test closes the port and opens it again (at another baud rate, say);
/// reading the master fails (EIO) only once that is disposed too.
/// </summary>
internal sealed partial class PseudoTerminal : IDisposable
{
    private const int ReadWrite = 2;
    private const int NoControllingTerminal = 0x100;

    // TCGETS2 = _IOR('T', 0x2A, struct termios2): the generic Linux value (x86-64, arm64); termios2 is 44 bytes there,
    // c_ospeed (the output speed as a number, kept by the kernel whatever call set it) at offset 40.
    private const nuint GetTermios2 = 0x802C542A;
    private const int Termios2Size = 44;
    private const int OutputSpeedOffset = 40;

    private readonly SafeFileHandle _master;
    private readonly SafeFileHandle _slave;

    private PseudoTerminal(SafeFileHandle master, SafeFileHandle slave, string slavePath)
    {
        _master = master;
        _slave = slave;
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
        var slave = OpenFile(path, ReadWrite | NoControllingTerminal);
        if (slave < 0)
            throw new InvalidOperationException($"opening {path} failed: " + Marshal.GetLastPInvokeError());
        return new PseudoTerminal(handle, new SafeFileHandle(slave, ownsHandle: true), path);
    }

    /// <summary>
    /// The baud rate the code under test set on its end (the slave's termios): a pseudo-terminal carries bytes at no speed,
    /// but it keeps the setting, and the master reads the slave's termios (Linux redirects the request to the slave).
    /// </summary>
    public int LineSpeed()
    {
        var termios = new byte[Termios2Size];
        if (Ioctl((int)_master.DangerousGetHandle(), GetTermios2, termios) != 0)
            throw new InvalidOperationException("TCGETS2 on the pseudo-terminal failed: " + Marshal.GetLastPInvokeError());
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(termios.AsSpan(OutputSpeedOffset));
    }

    public void Dispose()
    {
        // The slave first: with no slave open, a read pending on the master ends (EIO), and whoever serves it stops.
        _slave.Dispose();
        Master.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenpt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int Grantpt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int Unlockpt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static partial int PtsnameR(int fd, byte[] buffer, nint length);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, byte[] argument);
}
