using System.Net;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Demo;

/// <summary>
/// The demo van's OBD-II side: a simulated vehicle driven by the vehicle model behind a simulated ELM327 that
/// serves the real serial protocol on a loopback TCP port, like a Wi-Fi adapter. The agent talks to it through its
/// real ELM327 client.
/// </summary>
internal sealed class DemoVanHardware(VehicleModel model, TimeProvider time)
{
    private readonly SimulatedVehicle _vehicle = new();
    private long _tripStart;
    private double _odometer = 48_213.4;
    private bool _codeSet;

    public IPEndPoint? Adapter { get; private set; }

    public async Task<Task> StartAsync(CancellationToken cancellationToken)
    {
        _tripStart = time.GetUtcNow().ToUnixTimeMilliseconds();
        Update(1);
        var (endpoint, serving) = await SimulatedAdapterServer.ListenAsync(new SimulatedAdapterServer(new SimulatedElm327(_vehicle)), 0, cancellationToken);
        Adapter = endpoint;
        return serving;
    }

    /// <summary>Moves the vehicle on by <paramref name="seconds"/> of a long drive that started when the demo did.</summary>
    public void Update(double seconds)
    {
        var t = time.GetUtcNow().ToUnixTimeMilliseconds();
        var ambient = WeatherStationModel.Temperature(t);
        var now = model.ReadingsAt(t, _tripStart, 12 * 3_600_000, ambient).ToDictionary(r => r.Series.Metric, r => r.Value);
        var speed = now["speed"];
        var rpm = now["rpm"];
        var load = now["engine_load"];
        _odometer += speed * seconds / 3600;
        _vehicle.Set(0x0D, speed);
        _vehicle.Set(0x0C, rpm);
        _vehicle.Set(0x04, load);
        _vehicle.Set(0x11, Math.Min(100, load * 0.85));
        _vehicle.Set(0x0B, Math.Min(255, 28 + (load * 0.75)));
        _vehicle.Set(0x10, rpm * load / 1600);
        _vehicle.Set(0x5E, rpm * load / 9000);
        _vehicle.Set(0x05, now["coolant_temp"]);
        _vehicle.Set(0x2F, now["fuel_level"]);
        _vehicle.Set(0x46, ambient);
        _vehicle.Set(0x0F, ambient + 6);
        _vehicle.Set(0x1F, Math.Min(65535, (t - _tripStart) / 1000.0));
        _vehicle.Set(0xA6, _odometer);
        _vehicle.BatteryVoltage = now["battery_voltage"];

        // Twenty seconds in, the catalyst monitor fails: a stored code and the MIL.
        if (!_codeSet && t - _tripStart > 20_000)
        {
            _vehicle.StoredCodes.Add(new TroubleCode(0x0420));
            _vehicle.MilOn = true;
            _codeSet = true;
        }
    }
}
