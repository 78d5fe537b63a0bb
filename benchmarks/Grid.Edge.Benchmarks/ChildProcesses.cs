using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// The servers a run started, with their temp folders: killed and deleted when the tool is stopped (Ctrl+C, SIGTERM,
/// SIGHUP) or exits without having disposed them, so that no server outlives its run. A failure inside a command is
/// the commands' own <c>await using</c>; this covers the tool itself being ended.
/// </summary>
internal static class ChildProcesses
{
    private static readonly Dictionary<Process, string?> Live = [];
    private static readonly PosixSignalRegistration[] Signals =
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => KillAll()),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillAll()),
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => KillAll()),
    ];

    static ChildProcesses() => AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();

    /// <param name="folder">Deleted with it when the tool is ended (null: nothing to delete).</param>
    public static void Add(Process process, string? folder)
    {
        lock (Live)
        {
            if (Signals.Length > 0)
                Live[process] = folder;
        }
    }

    public static void Remove(Process process)
    {
        lock (Live)
            Live.Remove(process);
    }

    /// <summary>The process's peak resident memory since it started or since <see cref="ResetPeakMemory"/> (VmHWM), in bytes; 0 where /proc is not there.</summary>
    public static long PeakMemory(int processId) => Status(processId, "VmHWM:");

    /// <summary>The process's resident memory now (VmRSS), in bytes; 0 where /proc is not there.</summary>
    public static long ResidentMemory(int processId) => Status(processId, "VmRSS:");

    /// <summary>Starts the peak of <see cref="PeakMemory"/> again from the current resident size (Linux: '5' into clear_refs); false where that is refused.</summary>
    public static bool ResetPeakMemory(int processId)
    {
        try
        {
            File.WriteAllText($"/proc/{processId}/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A size in kB from /proc/&lt;pid&gt;/status, in bytes.</summary>
    private static long Status(int processId, string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void KillAll()
    {
        List<KeyValuePair<Process, string?>> live;
        lock (Live)
        {
            live = [.. Live];
            Live.Clear();
        }

        foreach (var (process, folder) in live)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }

            try
            {
                if (folder is not null && Directory.Exists(folder))
                    Directory.Delete(folder, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
