using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Testing.Servers;

/// <summary>
/// A Debian server (influxd, victoria-metrics) started for a test on 127.0.0.1 with its own temp folder, ready when
/// its HTTP probe answers (with a deadline), killed at the end. Neither influxd 1.6 nor victoria-metrics 1.79 says
/// which port it got when given port 0, so the test binds a socket to let the system pick a free port, closes it,
/// and passes the number; a start that loses the port to someone else is tried again on another.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private ServerProcess(string name, Func<int, ProcessStartInfo> command, string readyPath, HttpStatusCode readyStatus, int port)
    {
        Name = name;
        Command = command;
        ReadyPath = readyPath;
        ReadyStatus = readyStatus;
        Port = port;
    }

    public string Name { get; }

    public int Port { get; }

    public Uri Http => new($"http://127.0.0.1:{Port}");

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    private Func<int, ProcessStartInfo> Command { get; }

    private string ReadyPath { get; }

    private HttpStatusCode ReadyStatus { get; }

    /// <summary>Starts the server (<paramref name="command"/> gets the port) and waits until <paramref name="readyPath"/> answers <paramref name="readyStatus"/>.</summary>
    public static async Task<ServerProcess> StartAsync(string name, Func<int, ProcessStartInfo> command, string readyPath, HttpStatusCode readyStatus)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new ServerProcess(name, command, readyPath, readyStatus, FreePort());
            try
            {
                await server.StartAgainAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await server.DisposeAsync(); // it exited: most likely its port was taken meanwhile
            }
        }
    }

    /// <summary>Starts it again on the same port and data (after <see cref="KillAsync"/>).</summary>
    public async Task StartAgainAsync()
    {
        var start = Command(Port);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} could not be started");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        using var client = new HttpClient { BaseAddress = Http, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var delay = 20;
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {process.ExitCode} while starting:\n{Output}");
            try
            {
                using var response = await client.GetAsync(ReadyPath);
                if (response.StatusCode == ReadyStatus)
                    return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{Name} did not answer {ReadyPath} within 60 s:\n{Output}");
            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 200);
        }
    }

    /// <summary>SIGKILL, waiting until it is gone (an outage of the target).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, waiting until it is gone (a server that loses what it acknowledged when killed, as VictoriaMetrics 1.79 does with its last seconds, is stopped this way).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill!.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
        {
            if (_output.Length < 200_000)
                _output.AppendLine(line);
        }
    }
}
