using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Grid.Edge.Simulation.Obd;

/// <summary>
/// Serves a <see cref="SimulatedElm327"/> over a byte stream the way a real adapter does: reads until CR, answers
/// after a short think time, optionally in pieces (as Bluetooth and Wi-Fi clones deliver them).
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
            for (var i = 0; i < read; i++)
            {
                var c = (char)buffer[i];
                if (c != '\r')
                {
                    line.Append(c);
                    continue;
                }

                if (Unplugged)
                    return;
                var answer = Encoding.ASCII.GetBytes(adapter.Respond(line.ToString()));
                line.Clear();
                try
                {
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, cancellationToken);
                        delay = TimeSpan.Zero;
                    }

                    await WriteAnswerAsync(stream, answer, cancellationToken);
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
