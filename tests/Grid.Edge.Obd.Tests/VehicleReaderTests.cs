using System.Collections.Concurrent;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Obd.Polling;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Obd.Tests;

/// <summary>The polling loop against the simulated adapter over TCP: running, ignition off and on, adapter unplugged and back.</summary>
public sealed class VehicleReaderTests
{
    private static readonly ObdPollOptions Quick = new()
    {
        FastInterval = TimeSpan.FromMilliseconds(20),
        SlowInterval = TimeSpan.FromMilliseconds(100),
        RareInterval = TimeSpan.FromMilliseconds(300),
        IgnitionOffInterval = TimeSpan.FromMilliseconds(100),
        ReconnectMinimum = TimeSpan.FromMilliseconds(50),
        ReconnectMaximum = TimeSpan.FromMilliseconds(200),
    };

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_reader_follows_the_vehicle_through_ignition_off_and_an_unplugged_adapter()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var vehicle = new SimulatedVehicle();
        vehicle.StoredCodes.AddRange([new TroubleCode(0x0171), new TroubleCode(0x0300)]);
        vehicle.MilOn = true;
        var server = new SimulatedAdapterServer(new SimulatedElm327(vehicle));
        var (endpoint, serving) = await SimulatedAdapterServer.ListenAsync(server, 0, stop.Token);
        var readings = new ConcurrentQueue<ObdReading>();
        var reader = new VehicleReader(
            async ct => new Elm327Client(await TcpElmTransport.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, TimeSpan.FromSeconds(2), ct)),
            Quick,
            readings.Enqueue,
            TimeProvider.System);
        var running = reader.RunAsync(stop.Token);

        await Until(() => readings.Any(r => r.Metric == "dtc_permanent") || (readings.Count(r => r.Metric == "dtc") >= 2 && readings.Any(r => r.Metric == "odometer")), "a full round of polls");
        Assert.Equal(VehicleLinkState.Running, reader.State);
        Assert.Equal("WP0ZZZ99ZTS390000", reader.Vin);
        var metrics = readings.Select(r => r.Metric).ToHashSet();
        Assert.Superset(new HashSet<string> { "rpm", "speed", "engine_load", "coolant_temp", "oil_temp", "fuel_level", "battery_voltage", "odometer", "mil", "dtc_count", "dtc", "engine_running" }, metrics);
        Assert.Equal(850, readings.First(r => r.Metric == "rpm").Value);
        Assert.Equal(123456.7, readings.First(r => r.Metric == "odometer").Value);
        Assert.Equal([0x0171, 0x0300], readings.Where(r => r.Metric == "dtc").Take(2).Select(r => (int)r.Value));
        Assert.Equal(1, readings.First(r => r.Metric == "engine_running").Value);
        var rpmTimes = readings.Where(r => r.Metric == "rpm").Select(r => r.TimestampMs).ToList();
        Assert.Equal(rpmTimes.Order(), rpmTimes);

        // Ignition off: engine stopped, resting battery voltage keeps coming.
        vehicle.BatteryVoltage = 12.5;
        vehicle.IgnitionOn = false;
        await Until(() => reader.State == VehicleLinkState.IgnitionOff, "ignition off");
        var mark = readings.Count;
        await Until(() => readings.Skip(mark).Count(r => r.Metric == "battery_voltage") >= 2, "resting voltage");
        Assert.Contains(readings.Skip(mark - 5), r => r.Metric == "engine_running" && r.Value == 0);
        Assert.All(readings.Skip(mark), r => Assert.Contains(r.Metric, new[] { "battery_voltage", "engine_running" }));
        Assert.Equal(12.5, readings.Last(r => r.Metric == "battery_voltage").Value);

        vehicle.IgnitionOn = true;
        await Until(() => reader.State == VehicleLinkState.Running, "ignition on again");

        // Unplugged: the reader reports it, waits, and comes back when the adapter does.
        server.Unplugged = true;
        await Until(() => reader.State == VehicleLinkState.Disconnected && reader.LastError is not null, "adapter lost");
        Assert.Contains("closed the connection", reader.LastError, StringComparison.Ordinal);
        server.Unplugged = false;
        var polls = reader.Polls;
        await Until(() => reader.State == VehicleLinkState.Running && reader.Polls > polls + 3, "reconnected");
        Assert.Equal(0, vehicle.ClearRequests);

        await stop.CancelAsync();
        await running;
        await serving;
    }

    [Fact]
    public async Task Nothing_at_the_adapter_address_keeps_retrying_with_growing_waits()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var attempts = 0;
        var reader = new VehicleReader(
            ct =>
            {
                attempts++;
                throw new ElmException(ElmFailure.AdapterUnreachable, "/dev/ttyUSB9 does not exist");
            },
            Quick,
            _ => { },
            TimeProvider.System);
        var running = reader.RunAsync(stop.Token);
        await Until(() => attempts >= 4, "retries");
        Assert.Equal(VehicleLinkState.Disconnected, reader.State);
        Assert.Contains("/dev/ttyUSB9", reader.LastError, StringComparison.Ordinal);
        await stop.CancelAsync();
        await running;
    }
}
