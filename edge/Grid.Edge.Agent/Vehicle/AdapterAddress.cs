using Grid.Edge.Obd.Elm327;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Vehicle;

/// <summary>
/// Opens an adapter from its address: a serial device path, at the baud rate it answers at (found by the probe and
/// remembered per device in the data folder), or tcp://host:port for Wi-Fi adapters.
/// </summary>
internal static class AdapterAddress
{
    public static string BaudRateFile(string dataDir) => Path.Combine(dataDir, BaudRateMemory.FileName);

    /// <param name="baudRate">A serial speed given by the person setting up, tried first; null or 0 to find it.</param>
    /// <param name="progress">Told about each baud rate tried (serial adapters only).</param>
    public static async Task<AdapterConnection> ConnectAsync(string address, int? baudRate, string dataDir, Action<BaudProbeStep>? progress, ILogger? logger, CancellationToken cancellationToken)
    {
        if (address.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Port <= 0)
                throw new ElmException(ElmFailure.AdapterUnreachable, $"'{address}' is not a usable address; write tcp://192.168.0.10:35000");
            var transport = await TcpElmTransport.ConnectAsync(uri.Host, uri.Port, TimeSpan.FromSeconds(10), cancellationToken);
            return new AdapterConnection(new Elm327Client(transport, logger: logger), null);
        }

        var options = new SerialProbeOptions
        {
            Configured = baudRate is > 0 ? baudRate : null,
            Memory = new BaudRateMemory(BaudRateFile(dataDir), logger),
            Progress = progress,
        };
        var found = await ElmBaudProbe.ConnectAsync(address, options, logger, cancellationToken);
        return new AdapterConnection(found.Client, found);
    }
}

/// <param name="Serial">How a serial adapter's baud rate was found; null for a Wi-Fi one.</param>
internal sealed record AdapterConnection(Elm327Client Client, SerialProbeResult? Serial);
