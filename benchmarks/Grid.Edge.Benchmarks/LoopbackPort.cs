using System.Net;
using System.Net.Sockets;

namespace Grid.Edge.Benchmarks;

internal static class LoopbackPort
{
    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot listen on port 0).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
