using System.Diagnostics;
using System.Text;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>Mosquitto's command-line clients (Debian's mosquitto-clients), run as child processes.</summary>
internal static class Mosquitto
{
    /// <summary>Runs a tool to its end (at most 30 s): exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, params string[] args)
    {
        using var process = Process.Start(Start(tool, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish in 30 s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>A mosquitto_sub left running; its lines are collected as they come. Disposing kills it.</summary>
    public static Subscriber Subscribe(params string[] args) => new(Process.Start(Start("mosquitto_sub", args))!);

    private static ProcessStartInfo Start(string tool, string[] args)
    {
        var path = Path.Combine("/usr/bin", tool);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{tool} is missing: install Debian's mosquitto-clients (tests/run-tests.sh does).");
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    internal sealed class Subscriber : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private bool _disposed;

        public Subscriber(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                    return _output.ToString();
            }
        }

        /// <summary>Waits until the tool has exited and everything it printed has been read (its output ends after its exit).</summary>
        public async Task WaitForExitAsync(TimeSpan timeout, string what)
        {
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}; output so far: {Output}");
            }
        }

        public IReadOnlyList<string> Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_output)
                _output.Append(line).Append('\n');
        }

        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }

            _process.Dispose();
        }
    }
}
