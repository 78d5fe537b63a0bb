using System.Net;
using System.Net.Sockets;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// The link between two servers in a benchmark: a TCP relay on 127.0.0.1 (a port the system chose) in front of one
/// target, counting the bytes it carries each way. <see cref="Cut"/> is a partition as both ends see it: every open
/// connection is reset and new ones are refused until <see cref="Heal"/>. The counters are what crossed the wire
/// (TCP payload), whatever the servers speak over it.
/// </summary>
internal sealed class LinkProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];
    private readonly Task _accepting;
    private IPEndPoint? _target;
    private volatile bool _cut;
    private long _toTarget;
    private long _fromTarget;
    private int _connections;

    /// <summary>Listening at once; connections are refused until <see cref="Target"/> is set.</summary>
    public LinkProxy()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public IPEndPoint? Target
    {
        get => Volatile.Read(ref _target);
        set => Volatile.Write(ref _target, value);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes from the connecting side to the target.</summary>
    public long BytesToTarget => Interlocked.Read(ref _toTarget);

    /// <summary>Bytes from the target back to the connecting side.</summary>
    public long BytesFromTarget => Interlocked.Read(ref _fromTarget);

    /// <summary>Connections relayed so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var socket in _open)
                Reset(socket);
            _open.Clear();
        }
    }

    public void Heal() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_cut || Target is not { } target)
            {
                Reset(client);
                continue;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await server.ConnectAsync(target, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                server.Dispose();
                Reset(client);
                continue;
            }

            client.NoDelay = true;
            Interlocked.Increment(ref _connections);
            lock (_open)
            {
                _open.Add(client);
                _open.Add(server);
            }

            var pair = new Pair(client, server);
            _ = RelayAsync(pair, client, server, toTarget: true);
            _ = RelayAsync(pair, server, client, toTarget: false);
        }
    }

    private async Task RelayAsync(Pair pair, Socket from, Socket to, bool toTarget)
    {
        var buffer = new byte[64 * 1024];
        var ended = false;
        try
        {
            while (!_cut)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    // An orderly close goes on as one: what was sent still arrives, then the other side's FIN.
                    to.Shutdown(SocketShutdown.Send);
                    ended = true;
                    break;
                }

                for (var sent = 0; sent < read;)
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
                Interlocked.Add(ref toTarget ? ref _toTarget : ref _fromTarget, read);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        if (!ended)
        {
            // A reset, a failure or a cut on one side: the other side is reset too.
            Reset(from);
            Reset(to);
        }

        if (Interlocked.Increment(ref pair.Ended) < 2)
            return;
        lock (_open)
        {
            _open.Remove(pair.Client);
            _open.Remove(pair.Server);
        }

        pair.Client.Dispose();
        pair.Server.Dispose();
    }

    private sealed class Pair(Socket client, Socket server)
    {
        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public int Ended;
    }

    /// <summary>Closed with a reset (RST), as a partition looks to the ends; harmless on a socket already closed.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }

        socket.Dispose();
    }
}
