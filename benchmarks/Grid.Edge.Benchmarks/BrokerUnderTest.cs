using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Grid.Edge.Benchmarks;

/// <summary>A broker process started for one run, pinned to its own core, torn down afterwards.</summary>
internal sealed partial class BrokerUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _workDir;

    private BrokerUnderTest(string name, Process process, string workDir, int mqttPort, Uri? http, string? token = null)
    {
        Name = name;
        _process = process;
        _workDir = workDir;
        MqttPort = mqttPort;
        Http = http;
        _token = token;
    }

    private readonly string? _token;

    public string Name { get; }

    public string DataDirectory => _workDir;

    public int MqttPort { get; }

    public int ProcessId => _process.Id;

    /// <summary>The hub's API, for checking that readings are stored; null for Mosquitto.</summary>
    public Uri? Http { get; }

    /// <summary>A client of the hub's API that carries the run's API token (the API needs a login).</summary>
    public HttpClient NewHttpClient(TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = Http ?? throw new InvalidOperationException(Name + " has no HTTP API"), Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        return client;
    }

    public static async Task<BrokerUnderTest> StartMosquittoAsync(int core)
    {
        var dir = NewWorkDir();
        var port = LoopbackPort.Free();
        var config = Path.Combine(dir, "mosquitto.conf");
        // The baseline configuration of DESIGN.md section 7.
        await File.WriteAllTextAsync(config, string.Join('\n',
            $"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            "log_dest none",
            string.Empty));
        var process = Start("/usr/sbin/mosquitto", ["-c", config], core, dir);
        await WaitForPortAsync(port, process);
        return new BrokerUnderTest(ServerVersion.Mosquitto(), process, dir, port, null);
    }

    public static Task<BrokerUnderTest> StartHubAsync(string hubDll, int core, params string[] extraArgs) =>
        StartAsync(hubDll, hubDll, core, extraArgs);

    /// <summary>The demo (the hub with its simulated devices); the hub's CLI makes the run's API token.</summary>
    public static Task<BrokerUnderTest> StartDemoAsync(string hubDll, string demoDll, int core) =>
        StartAsync(hubDll, demoDll, core, []);

    /// <summary>The same hub again on its data folder (after <see cref="KillAsync"/>), as a restart after a power cut.</summary>
    public Task<BrokerUnderTest> RestartAsync(string hubDll, int core, params string[] extraArgs) =>
        StartAsync(hubDll, hubDll, core, extraArgs, _workDir, _token);

    /// <summary>SIGKILL; the data folder stays for <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _killed = true;
    }

    private bool _killed;

    /// <summary>The process's peak resident memory so far, or since <see cref="ResetPeakMemory"/> (VmHWM), in bytes; 0 where /proc is not there.</summary>
    public long PeakMemory() => ChildProcesses.PeakMemory(_process.Id);

    /// <summary>Starts <see cref="PeakMemory"/> again from the current resident size (false where Linux refuses).</summary>
    public bool ResetPeakMemory() => ChildProcesses.ResetPeakMemory(_process.Id);

    /// <summary>The grid address on the ready line (empty for Mosquitto).</summary>
    public string GridAddress { get; private init; } = "";

    private static async Task<BrokerUnderTest> StartAsync(string hubDll, string serverDll, int core, string[] extraArgs, string? existingDir = null, string? existingToken = null)
    {
        var dir = existingDir ?? NewWorkDir();
        var token = existingToken ?? await CreateTokenAsync(hubDll, dir);
        // The workloads push millions of readings through one device: far more a second than the hub lets one device
        // send by default. The limit stays on (its cost is measured), just out of reach.
        var process = Start("dotnet", [serverDll, "--mqtt-port", "0", "--http-port", "0", "--bind", "127.0.0.1", "--data-dir", dir, "--max-device-rate", "100000000", .. extraArgs], core, dir, redirect: true);
        var ready = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && ReadyLine().Match(e.Data) is { Success: true } m)
                ready.TrySetResult(m);
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var match = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var mqtt = IPEndPoint.Parse(match.Groups["mqtt"].Value);
        return new BrokerUnderTest("Grid.Edge hub (durable store)", process, dir, mqtt.Port, new Uri("http://" + match.Groups["http"].Value), token) { GridAddress = match.Groups["grid"].Value };
    }

    /// <summary>An API token for the run, made as a user would: 'Grid.Edge.Hub admin token create'.</summary>
    private static async Task<string> CreateTokenAsync(string hubDll, string dataDir)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { hubDll, "admin", "token", "create", "benchmark", "--data-dir", dataDir })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the hub's CLI");
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Trim() : throw new InvalidOperationException("admin token create failed: " + errors);
    }

    private static Process Start(string program, string[] args, int core, string dir, bool redirect = false)
    {
        // taskset keeps the broker on one core and the load generator on the other (DESIGN.md section 7).
        var start = new ProcessStartInfo("taskset") { RedirectStandardOutput = redirect, RedirectStandardError = redirect, UseShellExecute = false };

        // A free grid port, by environment: a hub built before the grid option ignores it instead of refusing it.
        start.Environment["GRID_GRID_PORT"] = "0";
        start.Environment["GRID_DISCOVERY_PORT"] = "0";
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(core.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(program);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + program);
        ChildProcesses.Add(process, dir);
        return process;
    }

    private static string NewWorkDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "grid-edge-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }


    internal static async Task WaitForPortAsync(int port, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException("the broker exited at start");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"nothing listens on port {port}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        ChildProcesses.Remove(_process);
        _process.Dispose();
        if (_killed)
            return; // the folder lives on in the restarted hub, which deletes it
        try
        {
            Directory.Delete(_workDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"^Grid\.Edge hub ready: mqtt=(?<mqtt>\S+) http=(?<http>\S+)(?: grid=(?<grid>\S+))?(?: hub=(?<hub>\S+))? data=")]
    private static partial Regex ReadyLine();
}
