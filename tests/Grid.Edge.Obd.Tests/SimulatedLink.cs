using System.Net;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Simulation.Obd;
using Grid.Edge.Testing.Serial;

namespace Grid.Edge.Obd.Tests;

/// <summary>How the client reaches the simulated adapter.</summary>
public enum AdapterLink
{
    /// <summary>TCP on 127.0.0.1, as a Wi-Fi adapter.</summary>
    Tcp,

    /// <summary>A pseudo-terminal opened as a serial port, as a USB or Bluetooth adapter.</summary>
    Serial,
}

/// <summary>A simulated adapter served on a link until disposed; the client's end is opened as the agent opens it.</summary>
internal sealed class SimulatedLink : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _serving;
    private readonly IPEndPoint? _endpoint;
    private readonly PseudoTerminal? _terminal;

    private SimulatedLink(CancellationTokenSource stop, Task serving, IPEndPoint? endpoint, PseudoTerminal? terminal)
    {
        _stop = stop;
        _serving = serving;
        _endpoint = endpoint;
        _terminal = terminal;
    }

    /// <summary>The serial device the client opens (a pseudo-terminal's slave side).</summary>
    public string SerialPath => _terminal?.SlavePath ?? throw new InvalidOperationException("a TCP link has no serial device");

    /// <summary>
    /// Serves <paramref name="server"/>; over a pseudo-terminal it hears the baud rate the client sets, so a server with
    /// its own <see cref="SimulatedAdapterServer.BaudRate"/> understands only a client at that rate.
    /// </summary>
    public static async Task<SimulatedLink> StartAsync(AdapterLink link, SimulatedAdapterServer? server)
    {
        var stop = new CancellationTokenSource();
        if (link == AdapterLink.Tcp)
        {
            var (endpoint, serving) = await SimulatedAdapterServer.ListenAsync(server ?? throw new ArgumentNullException(nameof(server)), 0, stop.Token);
            return new SimulatedLink(stop, serving, endpoint, null);
        }

        var terminal = PseudoTerminal.Open();
        if (server is null)
            return new SimulatedLink(stop, Task.CompletedTask, null, terminal); // nothing on the line: no one reads what is sent
        server.LineSpeed ??= terminal.LineSpeed;
        var served = Task.Run(() => server.ServeAsync(terminal.Master, stop.Token), CancellationToken.None);
        return new SimulatedLink(stop, served, null, terminal);
    }

    public async Task<IElmTransport> OpenAsync(int baudRate = 38400) =>
        _endpoint is not null
            ? await TcpElmTransport.ConnectAsync(_endpoint.Address.ToString(), _endpoint.Port, TimeSpan.FromSeconds(5), _stop.Token)
            : SerialElmTransport.Open(SerialPath, baudRate);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _terminal?.Dispose();
        await _serving.WaitAsync(TimeSpan.FromSeconds(10)); // the adapter stops once its line is gone
        _stop.Dispose();
    }
}
