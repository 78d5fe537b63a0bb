using System.Globalization;
using Grid.Edge.Agent.Vehicle;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Pids;

namespace Grid.Edge.Agent.Commands;

/// <summary>
/// "grid-agent obd scan": for a person setting up an adapter. Connects, initialises, and prints what the adapter
/// and the vehicle say. Exit codes: 0 fine, 3 the adapter cannot be reached or is not an ELM327, 4 the vehicle does not answer.
/// </summary>
internal static class ObdScanCommand
{
    /// <summary>"grid-agent obd clear": service 04, only with --yes. Exit 0 cleared, 4 the vehicle refused or did not answer.</summary>
    public static async Task<int> ClearAsync(string adapter, int? baudRate, string dataDir, bool confirmed, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        if (!confirmed)
        {
            errors.WriteLine("error: clearing erases the stored and pending trouble codes, the freeze frame and the readiness monitors (an inspection may then fail until the car has been driven); add --yes to do it");
            return 2;
        }

        try
        {
            await using var client = await ConnectAsync(adapter, baudRate, dataDir, output, errors, cancellationToken);
            await client.InitializeAsync(cancellationToken);
            var before = await client.ReadTroubleCodesAsync(0x03, cancellationToken);
            var refused = await client.ClearTroubleCodesAsync(cancellationToken);
            if (refused is not null)
            {
                errors.WriteLine("error: " + refused);
                return 4;
            }

            output.WriteLine(before.Count == 0 ? "Cleared (there were no stored codes)." : $"Cleared {string.Join(' ', before.Select(c => c.ToString()))}; the MIL is off.");
            return 0;
        }
        catch (ElmException e)
        {
            errors.WriteLine("error: " + e.Message);
            return e.Failure == ElmFailure.VehicleNotResponding ? 4 : 3;
        }
    }

    /// <param name="baudRate">A serial speed to try first; null to find it (the last good one first, remembered in <paramref name="dataDir"/>).</param>
    public static async Task<int> RunAsync(string adapter, int? baudRate, string dataDir, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        try
        {
            output.WriteLine($"Adapter      {adapter}");
            await using var client = await ConnectAsync(adapter, baudRate, dataDir, output, errors, cancellationToken);
            output.WriteLine("Initialising (the first protocol search can take 20 s)...");
            var info = await client.InitializeAsync(cancellationToken);
            output.WriteLine($"Version      {info.Version}");
            output.WriteLine($"Protocol     {info.ProtocolNumber}: {info.ProtocolName}");
            output.WriteLine($"Headers      {(info.HeadersOn ? "on" : "off (this adapter refuses ATH1: answers of several ECUs cannot be told apart)")}");
            output.WriteLine($"Battery      {(info.BatteryVoltage is { } v ? v.ToString("0.0 V", CultureInfo.InvariantCulture) : "not reported")}");
            output.WriteLine($"VIN          {await client.ReadVinAsync(cancellationToken) ?? "not reported"}");

            var supported = await client.ReadSupportedPidsAsync(cancellationToken);
            output.WriteLine($"Supported    {supported.Count} PIDs: {string.Join(' ', supported.Select(p => p.ToString("X2", CultureInfo.InvariantCulture)))}");
            output.WriteLine();
            output.WriteLine("Current values");
            foreach (var definition in PidTable.All.Where(p => supported.Contains(p.Pid)))
            {
                var values = await client.ReadPidAsync(definition.Pid, cancellationToken);
                var shown = values.Count == 0 ? "no answer" : string.Join(", ", values.Select(v => $"{v.Value.ToString("0.###", CultureInfo.InvariantCulture)} {definition.Unit}".TrimEnd() + (values.Count > 1 ? $" ({v.Ecu})" : string.Empty)));
                output.WriteLine($"  {definition.Pid:X2}  {definition.Name,-40} {shown}");
            }

            foreach (var pid in EnumeratedPids.All.Where(supported.Contains))
            {
                var name = pid switch { 0x02 => "Freeze frame DTC", 0x03 => "Fuel system", 0x1C => "OBD standard", _ => "Fuel type" };
                output.WriteLine($"  {pid:X2}  {name,-40} {await client.DescribePidAsync(pid, cancellationToken) ?? "no answer"}");
            }

            output.WriteLine();
            if (await client.ReadMonitorStatusAsync(cancellationToken) is { } status)
                output.WriteLine($"MIL          {(status.MilOn ? "ON" : "off")}, {status.StoredCodes} stored code(s), {(status.CompressionIgnition ? "compression" : "spark")} ignition");
            foreach (var (service, label) in new[] { (0x03, "Stored"), (0x07, "Pending"), (0x0A, "Permanent") })
            {
                var codes = await client.ReadTroubleCodesAsync(service, cancellationToken);
                output.WriteLine($"{label + " codes",-16}{(codes.Count == 0 ? "none" : string.Join(' ', codes.Select(c => c.ToString())))}");
            }

            output.WriteLine();
            output.WriteLine("Trouble codes are never cleared by this command ('grid-agent obd clear --yes' does, on purpose).");
            return 0;
        }
        catch (ElmException e)
        {
            errors.WriteLine("error: " + e.Message);
            return e.Failure == ElmFailure.VehicleNotResponding ? 4 : 3;
        }
    }

    /// <summary>Opens the adapter; for a serial one, shows each baud rate tried and the one found, and whether it is remembered.</summary>
    private static async Task<Elm327Client> ConnectAsync(string adapter, int? baudRate, string dataDir, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        var lineOpen = false;
        AdapterConnection connection;
        try
        {
            connection = await AdapterAddress.ConnectAsync(adapter, baudRate, dataDir, step => lineOpen = Show(step, output), logger: null, cancellationToken);
        }
        catch
        {
            if (lineOpen)
                output.WriteLine("failed"); // the error follows on its own line
            throw;
        }

        if (connection.Serial is { } serial)
        {
            var remembered = serial.NotRemembered is null
                ? $"remembered in {AdapterAddress.BaudRateFile(dataDir)}, tried first next time"
                : $"not remembered: {serial.NotRemembered}; --data-dir names a folder that can be written";
            output.WriteLine($"Baud rate    {serial.BaudRate} ({remembered})");
            if (baudRate is > 0 && baudRate != serial.BaudRate)
                errors.WriteLine($"warning: the adapter answers at {serial.BaudRate} baud, not at {baudRate} as given with --baud; give {serial.BaudRate} or leave --baud out");
        }

        return connection.Client;
    }

    /// <summary>Shows a step of the baud-rate probe; true when a line was left open for the rate's outcome.</summary>
    private static bool Show(BaudProbeStep step, TextWriter output)
    {
        if (step.Outcome == BaudProbeOutcome.Trying)
        {
            var source = step.Source switch
            {
                BaudRateSource.Configured => " (as given)",
                BaudRateSource.Remembered => " (last good rate)",
                _ => string.Empty,
            };
            output.Write($"Trying {step.BaudRate} baud{source}... ");
            output.Flush();
            return true;
        }

        output.WriteLine(step.Outcome switch
        {
            BaudProbeOutcome.Answered => step.Detail,
            BaudProbeOutcome.NoAnswer => "no answer",
            BaudProbeOutcome.Unreadable => "unreadable bytes (not its speed)",
            BaudProbeOutcome.NotAnElm327 => "answers, but not as an ELM327",
            _ => "the serial device refuses this speed",
        });
        return false;
    }
}
