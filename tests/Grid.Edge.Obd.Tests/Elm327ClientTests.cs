using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Obd.Tests;

/// <summary>
/// The ELM327 client against the simulated adapter over real TCP on 127.0.0.1, quirks and failures included (the first
/// contact in every adapter mode, over TCP and a serial line, is in <see cref="FirstContactTests"/>).
/// </summary>
public sealed class Elm327ClientTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private readonly SimulatedVehicle _vehicle = new();
    private SimulatedElm327 _adapter = null!;
    private SimulatedAdapterServer _server = null!;
    private Task _serving = Task.CompletedTask;
    private System.Net.IPEndPoint _endpoint = null!;

    public async Task InitializeAsync()
    {
        _adapter = new SimulatedElm327(_vehicle);
        _server = new SimulatedAdapterServer(_adapter);
        (_endpoint, _serving) = await SimulatedAdapterServer.ListenAsync(_server, 0, _stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _serving;
        _stop.Dispose();
    }

    private async Task<Elm327Client> ConnectAsync()
    {
        var transport = await TcpElmTransport.ConnectAsync(_endpoint.Address.ToString(), _endpoint.Port, TimeSpan.FromSeconds(5), _stop.Token);
        return new Elm327Client(transport);
    }

    private async Task<Elm327Client> InitializedAsync()
    {
        var client = await ConnectAsync();
        await client.InitializeAsync(_stop.Token);
        return client;
    }

    [Fact]
    public async Task Initialisation_finds_the_adapter_the_protocol_and_the_battery()
    {
        await using var client = await InitializedAsync();
        Assert.Equal("ELM327 v1.5", client.Adapter!.Version);
        Assert.Equal("6", client.Adapter.ProtocolNumber);
        Assert.Equal("ISO 15765-4 CAN (11 bit ID, 500 kbaud)", client.Adapter.ProtocolName);
        Assert.True(client.Adapter.HeadersOn);
        Assert.Equal(14.1, client.Adapter.BatteryVoltage);
    }

    [Theory]
    [InlineData("6", false, false, false)]
    [InlineData("7", false, false, false)]
    [InlineData("3", false, false, false)]
    [InlineData("6", true, true, true)]
    [InlineData("3", true, true, true)]
    public async Task Values_supported_pids_codes_and_VIN_read_back_on_every_bus_and_with_clone_quirks(string protocol, bool inPieces, bool nulBytes, bool duplicates)
    {
        _adapter.VehicleProtocol = protocol;
        _server.AnswerInPieces = inPieces;
        _adapter.SendsNulBytes = nulBytes;
        _adapter.DuplicateFrames = duplicates;
        _vehicle.Set(0x0C, 2500.25);
        _vehicle.Set(0x05, 93);
        _vehicle.StoredCodes.AddRange([new TroubleCode(0x0171), new TroubleCode(0x0300), new TroubleCode(0x0420), new TroubleCode(0xC100)]);
        _vehicle.PendingCodes.Add(new TroubleCode(0x0133));
        _vehicle.MilOn = true;
        await using var client = await InitializedAsync();
        Assert.Equal(protocol, client.Protocol);

        var supported = await client.ReadSupportedPidsAsync(_stop.Token);
        Assert.Subset(supported, _vehicle.SupportedPids().ToHashSet());
        Assert.Equal([0x20, 0x40, 0x60, 0x80, 0xA0], supported.Where(p => p % 0x20 == 0)); // the walk went through every range up to A6

        Assert.Equal(2500.25, Assert.Single(await client.ReadPidAsync(0x0C, _stop.Token)).Value);
        Assert.Equal(93, Assert.Single(await client.ReadPidAsync(0x05, _stop.Token)).Value);
        Assert.Equal(123456.7, Assert.Single(await client.ReadPidAsync(0xA6, _stop.Token)).Value, 6);
        var status = await client.ReadMonitorStatusAsync(_stop.Token);
        Assert.Equal(new MonitorStatus(true, 4, false), status);
        Assert.Equal(["P0171", "P0300", "P0420", "U0100"], (await client.ReadTroubleCodesAsync(0x03, _stop.Token)).Select(c => c.ToString()));
        Assert.Equal(["P0133"], (await client.ReadTroubleCodesAsync(0x07, _stop.Token)).Select(c => c.ToString()));
        Assert.Empty(await client.ReadTroubleCodesAsync(0x0A, _stop.Token));
        Assert.Equal("WP0ZZZ99ZTS390000", await client.ReadVinAsync(_stop.Token));
        Assert.Empty(await client.ReadPidAsync(0x99, _stop.Token));
    }

    [Fact]
    public async Task Several_ECUs_answer_separately()
    {
        _adapter.SecondEcu = true;
        await using var client = await InitializedAsync();
        var speeds = await client.ReadPidAsync(0x0D, _stop.Token);
        Assert.Equal(["7E8", "7E9"], speeds.Select(s => s.Ecu));
    }

    [Fact]
    public async Task A_clone_that_refuses_headers_and_spaces_off_still_works_with_headers_off()
    {
        _adapter.UnsupportedAtCommands.UnionWith(["ATH1", "ATS0", "ATL0", "ATAT1"]);
        await using var client = await InitializedAsync();
        Assert.False(client.Adapter!.HeadersOn);
        Assert.Equal(850, Assert.Single(await client.ReadPidAsync(0x0C, _stop.Token)).Value);
        Assert.Equal("WP0ZZZ99ZTS390000", await client.ReadVinAsync(_stop.Token));
    }

    [Fact]
    public async Task Ignition_off_is_reported_after_trying_every_protocol()
    {
        _vehicle.IgnitionOn = false;
        _vehicle.BatteryVoltage = 12.4;
        await using var client = await ConnectAsync();
        var error = await Assert.ThrowsAsync<ElmException>(() => client.InitializeAsync(_stop.Token));
        Assert.Equal(ElmFailure.VehicleNotResponding, error.Failure);
        Assert.Contains("Turn the ignition on", error.Message, StringComparison.Ordinal);
        Assert.Contains("12.4 V", error.Message, StringComparison.Ordinal);

        _vehicle.IgnitionOn = true;
        var info = await client.InitializeAsync(_stop.Token);
        Assert.Equal("6", info.ProtocolNumber);
    }

    [Fact]
    public async Task STOPPED_and_DATA_ERROR_are_retried_once()
    {
        await using var client = await InitializedAsync();
        _adapter.StopNextRequest = true;
        Assert.Equal(850, Assert.Single(await client.ReadPidAsync(0x0C, _stop.Token)).Value);
        _adapter.DamageNextRequest = true;
        var values = await client.ReadPidAsync(0x0C, _stop.Token);
        Assert.Equal(850, Assert.Single(values).Value);
    }

    [Fact]
    public async Task A_brown_out_or_an_unplugged_adapter_is_reported_as_lost()
    {
        await using (var client = await InitializedAsync())
        {
            _adapter.BrownOutNextCommand = true;
            var reset = await Assert.ThrowsAsync<ElmException>(() => client.ReadPidAsync(0x0C, _stop.Token));
            Assert.Equal(ElmFailure.AdapterLost, reset.Failure);
        }

        await using (var client = await InitializedAsync())
        {
            _server.Unplugged = true;
            var lost = await Assert.ThrowsAsync<ElmException>(() => client.ReadPidAsync(0x0C, _stop.Token));
            Assert.Equal(ElmFailure.AdapterLost, lost.Failure);
            Assert.Contains("closed the connection", lost.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Clearing_codes_is_refused_with_the_engine_running_and_done_with_it_stopped()
    {
        _vehicle.StoredCodes.Add(new TroubleCode(0x0171));
        await using var client = await InitializedAsync();
        Assert.Contains("conditions not correct", await client.ClearTroubleCodesAsync(_stop.Token), StringComparison.Ordinal);
        Assert.Single(await client.ReadTroubleCodesAsync(0x03, _stop.Token));
        _vehicle.Set(0x0C, 0);
        Assert.Null(await client.ClearTroubleCodesAsync(_stop.Token));
        Assert.Empty(await client.ReadTroubleCodesAsync(0x03, _stop.Token));
        Assert.Equal(2, _vehicle.ClearRequests);
    }

    [Fact]
    public async Task Nothing_listening_is_a_clear_error()
    {
        // A port held by this test but not listening: refused, and no other process can take the number meanwhile.
        using var held = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        held.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)held.LocalEndPoint!).Port;
        var error = await Assert.ThrowsAsync<ElmException>(() => TcpElmTransport.ConnectAsync("127.0.0.1", port, TimeSpan.FromSeconds(2), CancellationToken.None));
        Assert.Equal(ElmFailure.AdapterUnreachable, error.Failure);
    }
}
