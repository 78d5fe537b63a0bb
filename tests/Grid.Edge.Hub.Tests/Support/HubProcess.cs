using Grid.Edge.Hub.Testing;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>The hub as a real child process (the built Grid.Edge.Hub.dll), for restarts, SIGTERM and SIGKILL.</summary>
internal sealed partial class HubProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubProcess(Process process)
    {
        _process = process;
    }

    public IPEndPoint Mqtt { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The hub id the ready line gave.</summary>
    public string HubId { get; private set; } = null!;

    /// <summary>The grid port as the ready line gives it (host:port).</summary>
    public string GridAddress { get; private set; } = "";

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public static string HubDll => Built("Grid.Edge.Hub");

    /// <summary>The demo executable (the hub with its simulated devices).</summary>
    public static string DemoDll => Built("Grid.Edge.Demo");

    private static string Built(string project)
    {
        {
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = testDir.Parent!.Name; // bin/<Configuration>/net10.0
            var root = testDir;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Grid.Edge.sln")))
                root = root.Parent;
            if (root is null)
                throw new InvalidOperationException("Cannot find Grid.Edge.sln above " + AppContext.BaseDirectory);
            var dll = Path.Combine(root.FullName, "hub", project, "bin", configuration, "net10.0", project + ".dll");
            return File.Exists(dll) ? dll : throw new InvalidOperationException($"{project} is not built: {dll} is missing.");
        }
    }

    /// <summary>Starts the hub and waits for its ready line; <see cref="Http"/> carries an API token for the data folder's admin.</summary>
    public static Task<HubProcess> StartAsync(string dataDir, params string[] extraArgs) => StartAsync(dataDir, null, extraArgs);

    /// <summary>Starts the hub with extra environment variables and waits for its ready line.</summary>
    public static Task<HubProcess> StartAsync(string dataDir, IReadOnlyDictionary<string, string>? environment, params string[] extraArgs) =>
        StartAsync(HubDll, dataDir, environment, extraArgs);

    /// <summary>Starts the demo executable as a newcomer would, and waits for its ready line.</summary>
    public static Task<HubProcess> StartDemoAsync(string dataDir, params string[] extraArgs) => StartAsync(DemoDll, dataDir, null, extraArgs);

    private static async Task<HubProcess> StartAsync(string dll, string dataDir, IReadOnlyDictionary<string, string>? environment, string[] extraArgs)
    {
        var token = InProcessHub.SetUpAdmin(dataDir);
        // No LAN beacon unless a test asks for one (with a port it holds): hubs of other tests stay apart.
        string[] discovery = extraArgs.Contains("--discovery-port") ? [] : ["--discovery-port", "0"];
        var hub = Launch(["--mqtt-port", "0", "--http-port", "0", "--grid-port", "0", "--bind", "127.0.0.1", "--data-dir", dataDir, .. discovery, .. extraArgs], environment: environment, dll: dll);
        string line;
        try
        {
            line = await hub._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await hub.DisposeAsync();
            throw new TimeoutException("The hub did not print its ready line within 60 s. Output:\n" + hub.Output);
        }

        var match = ReadyLine().Match(line);
        hub.Mqtt = IPEndPoint.Parse(match.Groups["mqtt"].Value);
        hub.HubId = match.Groups["hub"].Value;
        hub.GridAddress = match.Groups["grid"].Value;
        hub.Http = new HttpClient { BaseAddress = new Uri("http://" + match.Groups["http"].Value), Timeout = TimeSpan.FromSeconds(30) };
        hub.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return hub;
    }

    /// <summary>Runs the hub program to completion (for --help, bad options, 'users' commands).</summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(string? stdin, params string[] args)
    {
        await using var hub = Launch(args, redirectInput: stdin is not null);
        if (stdin is not null)
        {
            await hub._process.StandardInput.WriteLineAsync(stdin);
            hub._process.StandardInput.Close();
        }

        var exit = await hub.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exit, hub.Output);
    }

    private static HubProcess Launch(string[] args, bool redirectInput = false, IReadOnlyDictionary<string, string>? environment = null, string? dll = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll ?? HubDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var name in new[] { "GRID_MQTT_PORT", "GRID_HTTP_PORT", "GRID_BIND", "GRID_DATA_DIR", "GRID_CONFIG", "ASPNETCORE_URLS" })
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var hub = new HubProcess(process);
        process.OutputDataReceived += (_, e) => hub.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => hub.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return hub;
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (ReadyLine().IsMatch(line))
            _ready.TrySetResult(line);
    }

    /// <summary>SIGKILL: no flush, no goodbye. What was acknowledged must survive this.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as systemd sends on stop; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (SendSignal(_process.Id, 15) != 0)
            throw new InvalidOperationException("kill(SIGTERM) failed");
        return await WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits for the hub to end by itself; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The hub did not exit within {timeout.TotalSeconds} s. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        try
        {
            if (!_process.HasExited)
                await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    [GeneratedRegex(@"^Grid\.Edge hub ready: mqtt=(?<mqtt>\S+) http=(?<http>\S+) grid=(?<grid>\S+) hub=(?<hub>\S+) data=")]
    private static partial Regex ReadyLine();
}
