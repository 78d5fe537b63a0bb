using System.Net.Sockets;

namespace Grid.Edge.Obd.Elm327;

/// <summary>A Wi-Fi adapter (usually 192.168.0.10:35000) over TCP.</summary>
public sealed class TcpElmTransport : IElmTransport
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private TcpElmTransport(TcpClient client, string description)
    {
        _client = client;
        _stream = client.GetStream();
        Description = description;
    }

    public string Description { get; }

    public static async Task<TcpElmTransport> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = new TcpClient { NoDelay = true };
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linked.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(host, port, linked.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new ElmException(ElmFailure.AdapterUnreachable, $"no adapter answers at tcp://{host}:{port} ({(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")}); is the adapter's Wi-Fi joined and the address right?");
        }

        return new TcpElmTransport(client, $"tcp://{host}:{port}");
    }

    public Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken).AsTask();

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _stream.ReadAsync(buffer, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
