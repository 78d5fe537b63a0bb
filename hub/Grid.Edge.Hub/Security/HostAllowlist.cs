using System.Net;
using System.Net.NetworkInformation;

namespace Grid.Edge.Hub.Security;

/// <summary>
/// The names a browser may use to reach the hub: localhost and loopback, the machine's own addresses and host name
/// (also as <c>name.local</c>), and the names the owner configured. A page on another site that rebinds its own DNS
/// name to the hub's address (DNS rebinding) sends its own name as Host and is refused.
/// </summary>
internal sealed class HostAllowlist
{
    private static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(10);
    private readonly HashSet<string> _configured;
    private readonly TimeProvider _time;
    private readonly Func<IEnumerable<IPAddress>> _machineAddresses;
    private readonly Lock _gate = new();
    private HashSet<string> _machine = new(StringComparer.OrdinalIgnoreCase);
    private DateTimeOffset _machineReadAt = DateTimeOffset.MinValue;

    public HostAllowlist(IEnumerable<string> configured, TimeProvider time, Func<IEnumerable<IPAddress>>? machineAddresses = null)
    {
        _configured = new HashSet<string>(configured.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        _time = time;
        _machineAddresses = machineAddresses ?? MachineAddresses;
    }

    /// <summary>Splits the configured list (comma or space separated) and checks each entry is a host name or address.</summary>
    public static IReadOnlyList<string> Parse(string? list, out string? problem)
    {
        problem = null;
        var names = (list ?? string.Empty).Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (Uri.CheckHostName(Normalize(name)) == UriHostNameType.Unknown)
            {
                problem = $"AllowedHosts: '{name}' is not a host name or IP address (give names like grid.home or 192.168.1.20, separated by commas).";
                break;
            }
        }

        return names;
    }

    /// <summary>True when <paramref name="host"/> (the Host header without its port) names this hub.</summary>
    public bool IsAllowed(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
            return false;
        var name = Normalize(host);
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        if (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address))
            return true;
        if (_configured.Contains(name))
            return true;
        if (Machine(refresh: false).Contains(name))
            return true;

        // The machine's addresses change (DHCP, a new network in the van): look again before refusing.
        return Machine(refresh: true).Contains(name);
    }

    private HashSet<string> Machine(bool refresh)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_machineReadAt == DateTimeOffset.MinValue || (refresh && now - _machineReadAt > RefreshAfter))
            {
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var address in _machineAddresses())
                {
                    var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
                    if (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                        a = new IPAddress(a.GetAddressBytes()); // without its zone: a Host header carries none
                    names.Add(a.ToString());
                }

                var hostName = Dns.GetHostName();
                names.Add(hostName);
                names.Add(hostName + ".local"); // mDNS (Avahi on Raspberry Pi OS): raspberrypi.local
                _machine = names;
                _machineReadAt = now;
            }

            return _machine;
        }
    }

    private static IPAddress[] MachineAddresses()
    {
        try
        {
            return [.. NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address)];
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    // Host headers carry IPv6 addresses in brackets; names are compared without a trailing dot.
    private static string Normalize(string host) => host.Trim().TrimStart('[').TrimEnd(']').TrimEnd('.');
}
