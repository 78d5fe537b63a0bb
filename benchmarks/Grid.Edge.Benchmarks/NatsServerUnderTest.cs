using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// Debian's nats-server (2.9.10 in Debian 12) with JetStream, started for one run on its own core, 127.0.0.1 only,
/// with its config and store in a temp folder: killed and started again on the same folder and ports (as a server
/// that lost power), torn down and deleted afterwards.
/// </summary>
internal sealed class NatsServerUnderTest : IAsyncDisposable
{
    public const string Program = "/usr/sbin/nats-server";

    private readonly string _config;
    private readonly int _core;
    private Process _process;

    private NatsServerUnderTest(string name, string dir, string config, int core, int clientPort, int monitorPort, int leafPort, Process process)
    {
        Name = name;
        Directory = dir;
        _config = config;
        _core = core;
        ClientPort = clientPort;
        MonitorPort = monitorPort;
        LeafPort = leafPort;
        _process = process;
    }

    public string Name { get; }

    public string Directory { get; }

    public int ClientPort { get; }

    /// <summary>The HTTP monitoring port (/varz, /leafz, /jsz).</summary>
    public int MonitorPort { get; }

    /// <summary>Where leaf nodes connect; 0 when this server accepts none.</summary>
    public int LeafPort { get; }

    public string Url => $"nats://127.0.0.1:{ClientPort}";

    public int ProcessId => _process.Id;

    /// <param name="domain">The JetStream domain: a server's JetStream API is then also <c>$JS.&lt;domain&gt;.API</c>, which is how a mirror on a leaf node reaches a stream here.</param>
    /// <param name="leafListen">Accept leaf node connections (on a free port, <see cref="LeafPort"/>).</param>
    /// <param name="leafRemote">Connect as a leaf node to this port on 127.0.0.1 (nats-server tries again every second while it is not there).</param>
    public static async Task<NatsServerUnderTest> StartAsync(string name, int core, string domain, bool leafListen = false, int? leafRemote = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "grid-edge-bench", "nats-" + name + "-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        var client = LoopbackPort.Free();
        var monitor = LoopbackPort.Free();
        var leaf = leafListen ? LoopbackPort.Free() : 0;
        var config = Path.Combine(dir, "nats-server.conf");
        var leafnodes = leafListen
            ? $"leafnodes {{ listen: 127.0.0.1:{leaf} }}"
            : leafRemote is { } remote ? $"leafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{remote}\" }} ] }}" : "";
        await File.WriteAllTextAsync(config, $$"""
            server_name: {{name}}
            listen: 127.0.0.1:{{client}}
            http: 127.0.0.1:{{monitor}}
            log_file: "{{dir}}/nats-server.log"
            jetstream {
              store_dir: "{{dir}}/jetstream"
              domain: {{domain}}
            }
            {{leafnodes}}

            """);
        return new NatsServerUnderTest(name, dir, config, core, client, monitor, leaf, await LaunchAsync(config, core, dir, client));
    }

    /// <summary>SIGKILL; the folder stays for <see cref="StartAgainAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>The same server again on its folder and ports, once it accepts clients.</summary>
    public async Task StartAgainAsync()
    {
        await KillAsync();
        ChildProcesses.Remove(_process);
        _process.Dispose();
        _process = await LaunchAsync(_config, _core, Directory, ClientPort);
    }

    /// <summary>A monitoring endpoint's answer (for example <c>/leafz</c>, <c>/varz</c>).</summary>
    public async Task<JsonElement> MonitorAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{MonitorPort}"), Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetFromJsonAsync<JsonElement>(path);
    }

    public long PeakMemory() => ChildProcesses.PeakMemory(_process.Id);

    public bool ResetPeakMemory() => ChildProcesses.ResetPeakMemory(_process.Id);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        ChildProcesses.Remove(_process);
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<Process> LaunchAsync(string config, int core, string dir, int clientPort)
    {
        var start = new ProcessStartInfo("taskset") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", core.ToString(CultureInfo.InvariantCulture), Program, "-c", config })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start nats-server");
        ChildProcesses.Add(process, dir);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await BrokerUnderTest.WaitForPortAsync(clientPort, process);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            var log = Path.Combine(dir, "nats-server.log");
            var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(10)) : "";
            throw new InvalidOperationException($"nats-server did not start ({ex.Message}): {tail}", ex);
        }

        return process;
    }
}
