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
    public static async Task<int> RunAsync(string adapter, int baudRate, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        try
        {
            output.WriteLine($"Adapter      {adapter}");
            await using var client = new Elm327Client(await AdapterAddress.OpenAsync(adapter, baudRate, cancellationToken));
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

            output.WriteLine();
            if (await client.ReadMonitorStatusAsync(cancellationToken) is { } status)
                output.WriteLine($"MIL          {(status.MilOn ? "ON" : "off")}, {status.StoredCodes} stored code(s), {(status.CompressionIgnition ? "compression" : "spark")} ignition");
            foreach (var (service, label) in new[] { (0x03, "Stored"), (0x07, "Pending"), (0x0A, "Permanent") })
            {
                var codes = await client.ReadTroubleCodesAsync(service, cancellationToken);
                output.WriteLine($"{label + " codes",-16}{(codes.Count == 0 ? "none" : string.Join(' ', codes.Select(c => c.ToString())))}");
            }

            output.WriteLine();
            output.WriteLine("Trouble codes are never cleared by this command.");
            return 0;
        }
        catch (ElmException e)
        {
            errors.WriteLine("error: " + e.Message);
            return e.Failure == ElmFailure.VehicleNotResponding ? 4 : 3;
        }
    }
}
