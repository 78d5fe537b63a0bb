using System.Globalization;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Pids;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Obd.Polling;

/// <summary>
/// Keeps reading a vehicle through an ELM327 for as long as it runs: polls the supported PIDs by class, reads
/// the MIL and trouble codes rarely, notices the ignition going off (reports the engine stopped and the resting
/// battery voltage, then looks for the vehicle again at a slow pace), and reconnects with growing waits when the
/// adapter is unplugged. Trouble codes are only ever read here, never cleared.
/// </summary>
/// <param name="openAdapter">Opens the adapter (a serial one at the baud rate it answers at) and gives its client.</param>
public sealed class VehicleReader(
    Func<CancellationToken, Task<Elm327Client>> openAdapter,
    ObdPollOptions options,
    Action<ObdReading> sink,
    TimeProvider time,
    ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public VehicleLinkState State { get; private set; } = VehicleLinkState.Disconnected;

    public string? LastError { get; private set; }

    public ElmAdapterInfo? Adapter { get; private set; }

    public string? Vin { get; private set; }

    public IReadOnlySet<int> Supported { get; private set; } = new SortedSet<int>();

    /// <summary>Polls completed since start (a progress figure for status and tests).</summary>
    public long Polls { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var problem = options.Validate();
        if (problem.Length > 0)
            throw new InvalidOperationException(problem);
        var wait = options.ReconnectMinimum;
        while (!cancellationToken.IsCancellationRequested)
        {
            State = VehicleLinkState.Disconnected;
            try
            {
                await using var client = await openAdapter(cancellationToken);
                await RunWithAdapterAsync(client, () => wait = options.ReconnectMinimum, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ElmException e)
            {
                LastError = e.Message;
                _logger.LogWarning("OBD: {Error}; trying again in {Wait:0} s", e.Message, wait.TotalSeconds);
            }

            State = VehicleLinkState.Disconnected;
            try
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, options.ReconnectMaximum.Ticks));
        }
    }

    private async Task RunWithAdapterAsync(Elm327Client client, Action connected, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            State = VehicleLinkState.Initialising;
            try
            {
                Adapter = await client.InitializeAsync(cancellationToken);
            }
            catch (ElmException e) when (e.Failure == ElmFailure.VehicleNotResponding)
            {
                // The adapter is fine and powered by the socket: the ignition is off. The battery is still worth watching.
                connected();
                LastError = e.Message;
                await IgnitionOffAsync(client, cancellationToken);
                continue;
            }

            connected();
            LastError = null;
            Supported = await client.ReadSupportedPidsAsync(cancellationToken);
            Vin ??= await client.ReadVinAsync(cancellationToken);
            _logger.LogInformation("OBD: vehicle {Vin} answers on {Protocol}; {Count} PIDs supported", Vin ?? "(no VIN)", Adapter.ProtocolName, Supported.Count);
            State = VehicleLinkState.Running;
            await PollAsync(client, cancellationToken);
            State = VehicleLinkState.IgnitionOff;
            await IgnitionOffAsync(client, cancellationToken);
        }
    }

    private async Task IgnitionOffAsync(Elm327Client client, CancellationToken cancellationToken)
    {
        State = VehicleLinkState.IgnitionOff;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Emit("engine_running", 0, string.Empty, now);
        if (await client.ReadBatteryVoltageAsync(cancellationToken) is { } volts)
            Emit("battery_voltage", volts, "V", now);
        await Task.Delay(options.IgnitionOffInterval, time, cancellationToken);
    }

    /// <summary>Polls until the vehicle stops answering (returns) or the adapter fails (throws).</summary>
    private async Task PollAsync(Elm327Client client, CancellationToken cancellationToken)
    {
        var fast = PidsOf(PollClass.Fast);
        var slow = PidsOf(PollClass.Slow);
        var rare = PidsOf(PollClass.Rare);
        var nextSlow = DateTimeOffset.MinValue;
        var nextRare = DateTimeOffset.MinValue;
        var silent = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var started = time.GetUtcNow();
            var answered = await ReadPidsAsync(client, fast, cancellationToken);
            if (answered.ContainsKey(0x0C))
                Emit("engine_running", answered[0x0C] > 0 ? 1 : 0, string.Empty, started.ToUnixTimeMilliseconds());
            silent = answered.Count == 0 && fast.Count > 0 ? silent + 1 : 0;
            if (silent >= options.SilentPollsBeforeIgnitionOff)
            {
                _logger.LogInformation("OBD: the vehicle stopped answering; the ignition is off");
                return;
            }

            if (started >= nextSlow)
            {
                nextSlow = started + options.SlowInterval;
                await ReadPidsAsync(client, slow, cancellationToken);
                if (await client.ReadBatteryVoltageAsync(cancellationToken) is { } volts)
                    Emit("battery_voltage", volts, "V", time.GetUtcNow().ToUnixTimeMilliseconds());
            }

            if (started >= nextRare)
            {
                nextRare = started + options.RareInterval;
                await ReadPidsAsync(client, rare, cancellationToken);
                await ReadDiagnosticsAsync(client, cancellationToken);
            }

            Polls++;
            var next = started + options.FastInterval;
            var delay = next - time.GetUtcNow();
            if (delay > TimeSpan.Zero)
                await Task.Delay(delay, time, cancellationToken);
        }
    }

    private List<int> PidsOf(PollClass poll) =>
        PidTable.All.Where(p => p.Poll == poll && Supported.Contains(p.Pid)).Select(p => p.Pid).ToList();

    private async Task<Dictionary<int, double>> ReadPidsAsync(Elm327Client client, List<int> pids, CancellationToken cancellationToken)
    {
        var answered = new Dictionary<int, double>();
        foreach (var pid in pids)
        {
            var values = await client.ReadPidAsync(pid, cancellationToken);
            if (values.Count == 0)
                continue;
            // With several ECUs answering, the engine ECU (lowest header: 7E8, 18DAF110, legacy 10) speaks for the vehicle.
            var value = values.OrderBy(v => v.Ecu, StringComparer.Ordinal).First().Value;
            answered[pid] = value;
            PidTable.TryGet(pid, out var definition);
            Emit(definition.Metric, value, definition.Unit, time.GetUtcNow().ToUnixTimeMilliseconds());
        }

        return answered;
    }

    private async Task ReadDiagnosticsAsync(Elm327Client client, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (await client.ReadMonitorStatusAsync(cancellationToken) is { } status)
        {
            Emit("mil", status.MilOn ? 1 : 0, string.Empty, now);
            Emit("dtc_count", status.StoredCodes, string.Empty, now);
        }

        foreach (var (service, metric) in new[] { (0x03, "dtc"), (0x07, "dtc_pending"), (0x0A, "dtc_permanent") })
        {
            var codes = await client.ReadTroubleCodesAsync(service, cancellationToken);
            // One reading per code; a millisecond apart so several codes read together stay distinct points.
            for (var i = 0; i < codes.Count; i++)
                Emit(metric, codes[i].Raw, string.Empty, now + i);
            if (codes.Count > 0)
                _logger.LogInformation("OBD: {Kind} trouble codes {Codes}", metric, string.Join(", ", codes.Select(c => c.ToString())));
        }
    }

    private void Emit(string metric, double value, string unit, long timestampMs) =>
        sink(new ObdReading(metric, Math.Round(value, 4), unit, timestampMs));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{State} ({Polls} polls)");
}
