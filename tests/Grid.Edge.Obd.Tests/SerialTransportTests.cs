using Grid.Edge.Obd.Elm327;
using Grid.Edge.Simulation.Obd;
using Grid.Edge.Testing.Serial;

namespace Grid.Edge.Obd.Tests;

/// <summary>The serial path: the simulated adapter on the master side of a real pseudo-terminal, the client on /dev/pts/N.</summary>
public sealed class SerialTransportTests
{
    [Fact]
    public async Task The_client_talks_to_an_adapter_over_a_serial_device()
    {
        using var pty = PseudoTerminal.Open();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var vehicle = new SimulatedVehicle();
        vehicle.Set(0x0D, 88);
        var server = new SimulatedAdapterServer(new SimulatedElm327(vehicle)) { AnswerInPieces = true };
        var serving = Task.Run(() => server.ServeAsync(pty.Master, stop.Token), CancellationToken.None);

        await using (var client = new Elm327Client(SerialElmTransport.Open(pty.SlavePath, 38400)))
        {
            var info = await client.InitializeAsync(stop.Token);
            Assert.Equal("6", info.ProtocolNumber);
            Assert.Equal(88, Assert.Single(await client.ReadPidAsync(0x0D, stop.Token)).Value);
            Assert.Equal("WP0ZZZ99ZTS390000", await client.ReadVinAsync(stop.Token));
        }

        await stop.CancelAsync();
        pty.Dispose();
        await serving.WaitAsync(TimeSpan.FromSeconds(10)); // the adapter stops once its pseudo-terminal is closed
    }

    [Fact]
    public void A_missing_device_says_what_to_check()
    {
        var error = Assert.Throws<ElmException>(() => SerialElmTransport.Open("/dev/ttyUSB-missing-adapter", 38400));
        Assert.Equal(ElmFailure.AdapterUnreachable, error.Failure);
        Assert.Contains("plugged in", error.Message, StringComparison.Ordinal);
    }
}
