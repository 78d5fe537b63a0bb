using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Hub.Replication.Discovery;

/// <summary>
/// LAN discovery: a UDP broadcast every few seconds on the discovery port, and whatever arrives there handed on.
/// The network follows the hub's bind address: bound to loopback, only hubs on this machine hear it (the loopback
/// broadcast address); bound to all, each IPv4 interface's broadcast address; bound to one address, that
/// interface's. Several hubs on one machine share the port (address reuse). NetMQBeacon is not used: it leaves out
/// the loopback interface and broadcasts to every network when bound to it.
/// </summary>
internal sealed class LanBeacon : IAsyncDisposable
{
    /// <summary>Beacons taken per second at most, in all and from one address: a flood on the port costs this much and no more.</summary>
    private const int MaxReceivedPerSecond = 200;

    private const int MaxPerSourcePerSecond = 10;

    private readonly Socket _socket;
    private readonly Func<IReadOnlyList<IPAddress>> _targets;
    private readonly Func<byte[]?> _payload;
    private readonly Action<IPAddress, byte[]> _received;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _sending;
    private Task? _receiving;

    private LanBeacon(Socket socket, Func<IReadOnlyList<IPAddress>> targets, Func<byte[]?> payload, Action<IPAddress, byte[]> received, TimeSpan interval, ILogger logger)
    {
        _socket = socket;
        _targets = targets;
        _payload = payload;
        _received = received;
        _interval = interval;
        _logger = logger;
    }

    public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public long Dropped { get; private set; }

    /// <summary>
    /// Starts broadcasting what <paramref name="payload"/> gives (nothing while it gives null) and handing on what
    /// arrives; null when the bind address has no IPv4 broadcast (an IPv6 address), with the reason logged.
    /// </summary>
    /// <exception cref="SocketException">The port cannot be bound.</exception>
    public static LanBeacon? Start(string bindAddress, int port, Func<byte[]?> payload, Action<IPAddress, byte[]> received, TimeSpan interval, ILogger? logger = null)
    {
        logger ??= NullLogger.Instance;
        if (!IPAddress.TryParse(bindAddress, out var bind) || bind.AddressFamily != AddressFamily.InterNetwork)
        {
            logger.LogWarning("Grid: LAN discovery needs an IPv4 bind address ({Bind} is not); members are found through --peer and the addresses they announce", bindAddress);
            return null;
        }

        // Bound to all, the networks are looked up before every beacon: a hub that started before its Wi-Fi came up,
        // or moved to another subnet, beacons there too.
        IPAddress listen;
        Func<IReadOnlyList<IPAddress>> broadcasts;
        if (IPAddress.IsLoopback(bind))
            (listen, broadcasts) = (IPAddress.Parse("127.255.255.255"), () => [IPAddress.Parse("127.255.255.255")]);
        else if (bind.Equals(IPAddress.Any))
            (listen, broadcasts) = (IPAddress.Any, () => InterfaceBroadcasts(null));
        else if (InterfaceBroadcasts(bind) is [var own])
            (listen, broadcasts) = (OperatingSystem.IsLinux() ? own : bind, () => InterfaceBroadcasts(bind));
        else
        {
            logger.LogWarning("Grid: no network interface holds the bind address {Bind}; LAN discovery is off", bindAddress);
            return null;
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.EnableBroadcast = true;
            socket.Bind(new IPEndPoint(listen, port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var beacon = new LanBeacon(socket, broadcasts, payload, received, interval, logger);
        beacon._sending = Task.Run(beacon.SendAsync);
        beacon._receiving = Task.Run(beacon.ReceiveAsync);
        return beacon;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        foreach (var task in new[] { _sending, _receiving })
        {
            if (task is not null)
                await task.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private static List<IPAddress> InterfaceBroadcasts(IPAddress? only) =>
        [.. NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork && (only is null || u.Address.Equals(only)))
            .Select(u => Broadcast(u.Address, u.IPv4Mask))
            .Distinct()];

    private static IPAddress Broadcast(IPAddress address, IPAddress mask)
    {
        var bytes = address.GetAddressBytes();
        var maskBytes = mask.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] |= (byte)~maskBytes[i];
        return new IPAddress(bytes);
    }

    private async Task SendAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        do
        {
            if (_payload() is { } payload)
            {
                foreach (var target in _targets().Select(b => new IPEndPoint(b, Port)))
                {
                    try
                    {
                        await _socket.SendToAsync(payload, SocketFlags.None, target, _stop.Token);
                    }
                    catch (SocketException e)
                    {
                        // A network that went away (a van leaving the campsite Wi-Fi) is not an error worth more than a line.
                        _logger.LogDebug("Grid: beacon to {Target} not sent ({Error})", target, e.SocketErrorCode);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                    {
                        return;
                    }
                }
            }
        }
        while (await Wait(timer));
    }

    private async Task<bool> Wait(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[512];
        var windowStart = Environment.TickCount64;
        var taken = 0;
        var fromSource = new Dictionary<IPAddress, int>();
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (result.ReceivedBytes != BeaconMessage.Size)
            {
                Dropped++;
                continue;
            }

            var now = Environment.TickCount64;
            if (now - windowStart >= 1000)
            {
                (windowStart, taken) = (now, 0);
                fromSource.Clear();
            }

            var source = ((IPEndPoint)result.RemoteEndPoint).Address;
            var fromThere = fromSource.GetValueOrDefault(source) + 1;
            if (++taken > MaxReceivedPerSecond || fromThere > MaxPerSourcePerSecond || fromSource.Count >= 1024)
            {
                Dropped++;
                continue;
            }

            fromSource[source] = fromThere;
            _received(source, buffer[..result.ReceivedBytes]);
        }
    }
}
