using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Simulation.Obd;

/// <summary>
/// Serves a <see cref="SimulatedElm327"/> over a byte stream the way a real adapter does: reads until CR, answers
/// after a short think time, optionally in pieces (as Bluetooth and Wi-Fi clones deliver them), and over a serial
/// line hears only a client set to its own baud rate.
/// </summary>
public sealed class SimulatedAdapterServer(SimulatedElm327 adapter)
{
    public SimulatedElm327 Adapter => adapter;

    /// <summary>Split every answer into pieces with pauses between them, to catch readers that stop early.</summary>
    public bool AnswerInPieces { get; set; }

    /// <summary>Hold the first answer of each connection this long (a clone just powered, a Bluetooth link still binding).</summary>
    public TimeSpan FirstAnswerDelay { get; set; }

    /// <summary>Drop the connection at the next command (adapter unplugged).</summary>
    public bool Unplugged { get; set; }

    /// <summary>The adapter's own serial speed; null: it hears any (a TCP link, or a serial line whose speed is not simulated).</summary>
    public int? BaudRate { get; set; }

    /// <summary>
    /// The speed the client set on its end of the line, read as its bytes arrive (for a pseudo-terminal: the termios
    /// speed of the slave side, read from the master). When it differs from <see cref="BaudRate"/>, bytes cross the line
    /// as a UART at the other speed reads them (<see cref="UartLine"/>): the adapter hears garbage, echoes garbage, and
    /// answers only what it heard (a command never survives; a line of garbage would get a garbled '?'). A pseudo-terminal
    /// enforces no speed, so this is the mismatch.
    /// </summary>
    public Func<int>? LineSpeed { get; set; }

    public async Task ServeAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var buffer = new byte[256];
        var delay = FirstAnswerDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            if (read == 0)
                return;
            var ownRate = BaudRate;
            var clientRate = ownRate is not null && LineSpeed is { } speed ? speed() : ownRate;
            var mismatched = clientRate != ownRate;
            var heard = mismatched ? UartLine.Resample(buffer.AsSpan(0, read), clientRate!.Value, ownRate!.Value) : buffer[..read];
            byte[] Back(byte[] bytes) => mismatched ? UartLine.Resample(bytes, ownRate!.Value, clientRate!.Value) : bytes;
            try
            {
                // An ELM327 echoes each character as it arrives; at a wrong speed that garbage is what the client reads back.
                // (At the right speed the echo comes with the answer, the line at once: a client cannot tell the difference.)
                if (mismatched && adapter.Echoes && heard.Length > 0)
                    await WriteAnswerAsync(stream, Back(heard), cancellationToken);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            foreach (var b in heard)
            {
                var c = (char)b;
                if (c != '\r')
                {
                    line.Append(c);
                    continue;
                }

                if (Unplugged)
                    return;
                var answer = Encoding.Latin1.GetBytes(adapter.Respond(line.ToString()));
                line.Clear();
                try
                {
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, cancellationToken);
                        delay = TimeSpan.Zero;
                    }

                    await WriteAnswerAsync(stream, Back(answer), cancellationToken);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Accepts connections on 127.0.0.1 (port 0 picks one) until cancelled; one client at a time, like a Wi-Fi adapter.</summary>
    public static async Task<(IPEndPoint Endpoint, Task Serving)> ListenAsync(SimulatedAdapterServer server, int port, CancellationToken cancellationToken)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        var endpoint = (IPEndPoint)listener.LocalEndpoint;
        var serving = Task.Run(async () =>
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    using var client = await listener.AcceptTcpClientAsync(cancellationToken);
                    client.NoDelay = true;
                    await server.ServeAsync(client.GetStream(), cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                listener.Stop();
            }
        }, CancellationToken.None);
        await Task.Yield();
        return (endpoint, serving);
    }

    private async Task WriteAnswerAsync(Stream stream, byte[] answer, CancellationToken cancellationToken)
    {
        if (!AnswerInPieces || answer.Length < 4)
        {
            await stream.WriteAsync(answer, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            return;
        }

        // Three pieces: the first line, the rest without the prompt, then the prompt alone.
        var firstBreak = Array.IndexOf(answer, (byte)'\r') + 1;
        var cuts = new[] { 0, Math.Clamp(firstBreak, 1, answer.Length - 2), answer.Length - 1, answer.Length };
        for (var i = 0; i < 3; i++)
        {
            await stream.WriteAsync(answer.AsMemory(cuts[i], cuts[i + 1] - cuts[i]), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(30, cancellationToken);
        }
    }
}
