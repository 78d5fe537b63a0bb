using System.Net;
using System.Net.Sockets;

namespace Grid.Edge.Testing.Net;

/// <summary>
/// A TCP proxy on 127.0.0.1 (a port the system chose, kept bound) in front of one target, that a test can cut and
/// restore: cutting resets every open connection and refuses new ones until restored, as a network partition
/// would look to both ends.
/// </summary>
internal sealed class TcpFaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private IPEndPoint? _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Inner, TcpClient Outer)> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;
    private int _connections;

    public TcpFaultProxy(IPEndPoint target)
        : this()
    {
        _target = target;
    }

    /// <summary>A proxy whose address is known before its target is (a process started with it as its peer); connections are refused until <see cref="Target"/> is set.</summary>
    public TcpFaultProxy()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint? Target
    {
        get => Volatile.Read(ref _target);
        set => Volatile.Write(ref _target, value);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public string Address => $"127.0.0.1:{EndPoint.Port}";

    /// <summary>Connections accepted and forwarded so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var (inner, outer) in _open)
            {
                Reset(inner);
                Reset(outer);
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient outer;
            try
            {
                outer = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_cut || Target is not { } target)
            {
                Reset(outer);
                continue;
            }

            var inner = new TcpClient();
            try
            {
                await inner.ConnectAsync(target, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                inner.Dispose();
                outer.Dispose();
                continue;
            }

            Interlocked.Increment(ref _connections);
            lock (_open)
                _open.Add((inner, outer));
            _ = PumpAsync(outer, inner);
            _ = PumpAsync(inner, outer);
        }
    }

    /// <summary>Closes with a reset, not an orderly close (a pump may have closed it already).</summary>
    private static void Reset(TcpClient client)
    {
        try
        {
            if (client.Client is { } socket)
                socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }

        client.Dispose();
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var sink = to.GetStream();
            while (true)
            {
                var read = await source.ReadAsync(buffer, _stop.Token);
                if (read == 0 || _cut)
                    break;
                await sink.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or SocketException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
