using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Grid.Edge.Benchmarks;

/// <summary>Debian's InfluxDB (1.6.7 in Debian 12) started for one run, on its own core, with temp folders, torn down afterwards.</summary>
internal sealed class InfluxUnderTest : IAsyncDisposable
{
    private readonly Process _process;

    private InfluxUnderTest(Process process, string dir, Uri http)
    {
        _process = process;
        Directory = dir;
        Http = http;
    }

    public string Directory { get; }

    public Uri Http { get; }

    public int ProcessId => _process.Id;

    public static async Task<InfluxUnderTest> StartAsync(int core)
    {
        var dir = Path.Combine(Path.GetTempPath(), "grid-edge-bench", "influx-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        var http = LoopbackPort.Free();
        var rpc = LoopbackPort.Free();
        var config = Path.Combine(dir, "influxdb.conf");
        // Cold data is snapshotted and compacted quickly so that the size on disk is the settled size.
        await File.WriteAllTextAsync(config, $"""
            reporting-disabled = true
            bind-address = "127.0.0.1:{rpc}"
            [meta]
              dir = "{dir}/meta"
            [data]
              dir = "{dir}/data"
              wal-dir = "{dir}/wal"
              cache-snapshot-write-cold-duration = "2s"
              compact-full-write-cold-duration = "5s"
              query-log-enabled = false
            [http]
              bind-address = "127.0.0.1:{http}"
              log-enabled = false
            [monitor]
              store-enabled = false
            [continuous_queries]
              enabled = false
            """);
        var start = new ProcessStartInfo("taskset") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", core.ToString(CultureInfo.InvariantCulture), "/usr/bin/influxd", "-config", config })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start influxd");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var influx = new InfluxUnderTest(process, dir, new Uri($"http://127.0.0.1:{http}"));
        using var client = new HttpClient { BaseAddress = influx.Http };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                if ((await client.GetAsync("/ping")).StatusCode == HttpStatusCode.NoContent)
                    break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline || process.HasExited)
                throw new TimeoutException("influxd did not start");
            await Task.Delay(100);
        }

        using var create = await client.PostAsync("/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = "CREATE DATABASE bench" }));
        create.EnsureSuccessStatusCode();
        return influx;
    }


    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
