using Grid.Edge.Obd.Elm327;

namespace Grid.Edge.Agent.Vehicle;

/// <summary>Opens an adapter from its address: a serial device path, or tcp://host:port for Wi-Fi adapters.</summary>
internal static class AdapterAddress
{
    public static async Task<IElmTransport> OpenAsync(string address, int baudRate, CancellationToken cancellationToken)
    {
        if (address.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Port <= 0)
                throw new ElmException(ElmFailure.AdapterUnreachable, $"'{address}' is not a usable address; write tcp://192.168.0.10:35000");
            return await TcpElmTransport.ConnectAsync(uri.Host, uri.Port, TimeSpan.FromSeconds(10), cancellationToken);
        }

        return SerialElmTransport.Open(address, baudRate);
    }
}
