using Grid.Edge.Agent.Commands;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Agent.Tests;

/// <summary>"grid-agent obd scan" against the simulated adapter over TCP, in process and as the real program.</summary>
public sealed class ObdScanCommandTests
{
    private static async Task<(int Exit, string Output, string Errors)> ScanAsync(string adapter)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exit = await ObdScanCommand.RunAsync(adapter, 38400, output, errors, timeout.Token);
        return (exit, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task A_scan_prints_adapter_protocol_pids_values_codes_vin_and_battery()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var vehicle = new SimulatedVehicle { MilOn = true, BatteryVoltage = 13.9 };
        vehicle.StoredCodes.Add(new TroubleCode(0x0171));
        vehicle.PendingCodes.Add(new TroubleCode(0x0300));
        var (endpoint, serving) = await SimulatedAdapterServer.ListenAsync(new SimulatedAdapterServer(new SimulatedElm327(vehicle)), 0, stop.Token);

        var (exit, output, errors) = await ScanAsync($"tcp://127.0.0.1:{endpoint.Port}");
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

        // Clearing only on purpose, and only with the engine stopped.
        using (var o = new StringWriter())
        using (var e = new StringWriter())
        {
            Assert.Equal(2, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", 38400, false, o, e, CancellationToken.None));
            Assert.Equal(0, vehicle.ClearRequests);
            Assert.Equal(4, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", 38400, true, o, e, CancellationToken.None));
            Assert.Contains("conditions not correct", e.ToString(), StringComparison.Ordinal);
            vehicle.Set(0x0C, 0);
            Assert.Equal(0, await ObdScanCommand.ClearAsync($"tcp://127.0.0.1:{endpoint.Port}", 38400, true, o, e, CancellationToken.None));
            Assert.Contains("Cleared P0171; the MIL is off.", o.ToString(), StringComparison.Ordinal);
        }

        vehicle.Set(0x0C, 850);

        vehicle.IgnitionOn = false;
        (exit, _, errors) = await ScanAsync($"tcp://127.0.0.1:{endpoint.Port}");
        Assert.Equal(4, exit);
        Assert.Contains("the vehicle does not answer", errors, StringComparison.Ordinal);

        await stop.CancelAsync();
        await serving;
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
        await File.WriteAllTextAsync(config, """{ "Agent": { "DeviceId": "van one", "HubMqttPort": 0, "Obd": { "Enabled": true, "Adapter": "" } } }""");
        var (exit, errors) = await RunAgentAsync("--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("Agent:DeviceId 'van one'", errors, StringComparison.Ordinal);
        Assert.Contains("Agent:HubMqttPort 0", errors, StringComparison.Ordinal);
        Assert.Contains("Agent:Obd:Adapter is required", errors, StringComparison.Ordinal);
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
