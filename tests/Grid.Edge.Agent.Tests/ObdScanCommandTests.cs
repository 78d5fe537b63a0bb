using Grid.Edge.Agent.Commands;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Simulation.Obd;
using Grid.Edge.Testing.Serial;

namespace Grid.Edge.Agent.Tests;

/// <summary>"grid-agent obd scan" against the simulated adapter over TCP and a serial line, in process and as the real program.</summary>
public sealed class ObdScanCommandTests
{
    private static async Task<(int Exit, string Output, string Errors)> ScanAsync(string adapter, string dataDir, int? baudRate = null)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exit = await ObdScanCommand.RunAsync(adapter, baudRate, dataDir, output, errors, timeout.Token);
        return (exit, output.ToString().ReplaceLineEndings("\n"), errors.ToString());
    }

    [Fact]
    public async Task A_scan_prints_adapter_protocol_pids_values_codes_vin_and_battery()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var data = new TempDirectory();
        var vehicle = new SimulatedVehicle { MilOn = true, BatteryVoltage = 13.9 };
        vehicle.StoredCodes.Add(new TroubleCode(0x0171));
        vehicle.PendingCodes.Add(new TroubleCode(0x0300));
        var (endpoint, serving) = await SimulatedAdapterServer.ListenAsync(new SimulatedAdapterServer(new SimulatedElm327(vehicle)), 0, stop.Token);

        var (exit, output, errors) = await ScanAsync($"tcp://127.0.0.1:{endpoint.Port}", data.Path);
        Assert.True(exit == 0, errors);
        Assert.Contains("Version      ELM327 v1.5", output, StringComparison.Ordinal);
        Assert.Contains("Protocol     6: ISO 15765-4 CAN (11 bit ID, 500 kbaud)", output, StringComparison.Ordinal);
        Assert.Contains("Battery      13.9 V", output, StringComparison.Ordinal);
        Assert.Contains("VIN          WP0ZZZ99ZTS390000", output, StringComparison.Ordinal);
        Assert.Contains("0C  Engine speed", output, StringComparison.Ordinal);
        Assert.Contains("850 rpm", output, StringComparison.Ordinal);
        Assert.Contains("A6  Odometer", output, StringComparison.Ordinal);
        Assert.Contains("123456.7 km", output, StringComparison.Ordinal);
        Assert.Contains("MIL          ON, 1 stored code(s)", output, StringComparison.Ordinal);
        Assert.Contains("Stored codes    P0171", output, StringComparison.Ordinal);
        Assert.Contains("Pending codes   P0300", output, StringComparison.Ordinal);
        Assert.Contains("Fuel type", output, StringComparison.Ordinal);
        Assert.Contains("diesel", output, StringComparison.Ordinal);
        Assert.Contains("EOBD (Europe)", output, StringComparison.Ordinal);
        Assert.Equal(0, vehicle.ClearRequests);
        Assert.DoesNotContain("Baud rate", output, StringComparison.Ordinal); // a Wi-Fi adapter has no serial speed to find
        Assert.DoesNotContain("Trying", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(data.Path));

        // Clearing only on purpose, and only with the engine stopped.
        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.Equal(2, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", null, data.Path, false, o, e, CancellationToken.None));
            Assert.Equal(0, vehicle.ClearRequests);
            Assert.Equal(4, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", null, data.Path, true, o, e, CancellationToken.None));
            Assert.Contains("conditions not correct", e.ToString(), StringComparison.Ordinal);
            vehicle.Set(0x0C, 0);
            Assert.Equal(0, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", null, data.Path, true, o, e, CancellationToken.None));
            Assert.Contains("Cleared P0171; the MIL is off.", o.ToString(), StringComparison.Ordinal);
        }

        vehicle.Set(0x0C, 850);

        vehicle.IgnitionOn = false;
        (exit, _, errors) = await ScanAsync($"tcp://127.0.0.1:{endpoint.Port}", data.Path);
        Assert.Equal(4, exit);
        Assert.Contains("the vehicle does not answer", errors, StringComparison.Ordinal);

        await stop.CancelAsync();
        await serving;
    }

    [Fact]
    public async Task A_scan_of_a_serial_adapter_shows_the_rates_tried_and_remembers_the_one_found()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var data = new TempDirectory();
        using var line = PseudoTerminal.Open();
        // The adapter hears only a client at 9600 baud: the speed the scan sets on the line, read from the pseudo-terminal.
        var server = new SimulatedAdapterServer(new SimulatedElm327(new SimulatedVehicle())) { BaudRate = 9600, LineSpeed = line.LineSpeed };
        var serving = Task.Run(() => server.ServeAsync(line.Master, stop.Token), CancellationToken.None);
        var remembered = Path.Combine(data.Path, "obd-baud-rates.json");

        var (exit, output, errors) = await ScanAsync(line.SlavePath, data.Path);
        Assert.True(exit == 0, errors);
        Assert.Contains($"Adapter      {line.SlavePath}\nTrying 38400 baud... unreadable bytes (not its speed)\nTrying 9600 baud... ELM327 v1.5\nBaud rate    9600 (remembered in {remembered}, tried first next time)\n", output, StringComparison.Ordinal);
        Assert.Contains("VIN          WP0ZZZ99ZTS390000", output, StringComparison.Ordinal);
        Assert.Equal($"{{\"{line.SlavePath}\":9600}}", await File.ReadAllTextAsync(remembered));

        (exit, output, errors) = await ScanAsync(line.SlavePath, data.Path);
        Assert.True(exit == 0, errors);
        Assert.Contains("Trying 9600 baud (last good rate)... ELM327 v1.5\nBaud rate    9600", output, StringComparison.Ordinal);
        Assert.DoesNotContain("38400", output, StringComparison.Ordinal);

        // A wrong --baud is tried first, and named; the scan still connects.
        (exit, output, errors) = await ScanAsync(line.SlavePath, data.Path, baudRate: 38400);
        Assert.True(exit == 0, errors);
        Assert.Contains("Trying 38400 baud (as given)... no answer\nTrying 9600 baud (last good rate)... ELM327 v1.5\n", output, StringComparison.Ordinal);
        Assert.Contains("warning: the adapter answers at 9600 baud, not at 38400 as given with --baud", errors, StringComparison.Ordinal);

        await stop.CancelAsync();
        line.Dispose();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_program_exits_non_zero_with_a_clear_message_when_no_adapter_answers()
    {
        var (exit, errors) = await RunAgentAsync("obd", "scan", "--adapter", "/dev/ttyUSB-nothing-here");
        Assert.Equal(3, exit);
        Assert.Contains("error: /dev/ttyUSB-nothing-here does not exist; is the adapter plugged in", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_program_refuses_a_bad_configuration_with_every_problem_named()
    {
        using var dir = new Grid.Edge.Testing.TempDirectory();
        var config = Path.Combine(dir.Path, "agent.json");
        await File.WriteAllTextAsync(config, """{ "Agent": { "DeviceId": "van one", "HubMqttPort": 0, "Obd": { "Enabled": true, "Adapter": "", "BaudRate": 12 } } }""");
        var (exit, errors) = await RunAgentAsync("--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("Agent:DeviceId 'van one'", errors, StringComparison.Ordinal);
        Assert.Contains("Agent:HubMqttPort 0", errors, StringComparison.Ordinal);
        Assert.Contains("Agent:Obd:Adapter is required", errors, StringComparison.Ordinal);
        Assert.Contains("Agent:Obd:BaudRate 12 must be a serial speed", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_or_broken_settings_file_is_one_sentence_for_every_command()
    {
        using var dir = new Grid.Edge.Testing.TempDirectory();
        var missing = Path.Combine(dir.Path, "nowhere.json");
        foreach (var args in new[] { new[] { "--config", missing }, ["obd", "scan", "--adapter", "/dev/ttyUSB-x", "--config", missing], ["pair", "127.0.0.1", "K7QF-3M9X", "--config", missing] })
        {
            var (exit, errors) = await RunAgentAsync(args);
            Assert.True(exit == 2, $"{string.Join(' ', args)}: exit {exit}: {errors}");
            Assert.Contains($"error: the settings file {missing} does not exist", errors, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
        }

        var broken = Path.Combine(dir.Path, "broken.json");
        await File.WriteAllTextAsync(broken, "{ \"Agent\": ");
        var (brokenExit, brokenErrors) = await RunAgentAsync("--config", broken);
        Assert.Equal(2, brokenExit);
        Assert.Contains("is not valid JSON", brokenErrors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", brokenErrors, StringComparison.Ordinal);
    }

    /// <summary>Runs the built grid-agent as a child process; its exit code and standard error.</summary>
    private static async Task<(int Exit, string Errors)> RunAgentAsync(params string[] args)
    {
        using var process = Support.AgentProgram.Start(new Dictionary<string, string>(), args);
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await errors);
    }
}
