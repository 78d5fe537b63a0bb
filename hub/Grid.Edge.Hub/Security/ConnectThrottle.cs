using System.Net;
using System.Net.Sockets;

namespace Grid.Edge.Hub.Security;

/// <summary>
/// Backs off refused MQTT CONNECTs per remote address, so that guessing passwords (or cycling client ids) costs an
/// attacker time. The first <see cref="FreeFailures"/> failures cost nothing (a device with an old password retries);
/// after that the address is refused for 1 s, doubling with each further failure up to <see cref="MaxDelay"/>, without
/// the password being checked. A success resets the address. An IPv6 client is judged by its /64, since whoever
/// controls one address usually controls the whole prefix. Only the attacker's own address is held back: a device
/// elsewhere on the LAN is never affected. This machine's addresses wait at most <see cref="LoopbackMaxDelay"/>, so
/// local admin tools can never be kept out for long, and anonymous clients from this machine are not throttled at
/// all (they present no secret to guess).
/// </summary>
internal sealed class ConnectThrottle(TimeProvider time)
{
    public const int FreeFailures = 5;
    public const int MaxTracked = 4096;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan LoopbackMaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>An address that stopped failing is forgotten after this long.</summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _addresses = new(StringComparer.Ordinal);
    private long _failures;
    private long _throttled;

    /// <summary>Refused CONNECTs (bad credentials, refused client ids and takeovers, not allowed anonymously).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>CONNECTs refused because their address was backing off.</summary>
    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>True (and counted) when the address must wait; <paramref name="retryAfter"/> says how long.</summary>
    public bool IsThrottled(IPAddress? remote, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_addresses.TryGetValue(Key(remote), out var state) || state.BlockedUntil <= now)
                return false;
            retryAfter = state.BlockedUntil - now;
        }

        Interlocked.Increment(ref _throttled);
        return true;
    }

    public void Failed(IPAddress? remote)
    {
        Interlocked.Increment(ref _failures);
        var now = time.GetUtcNow();
        var key = Key(remote);
        lock (_gate)
        {
            if (!_addresses.TryGetValue(key, out var state) || now - state.LastFailure > ForgetAfter)
                state = default;
            var failures = state.Failures + 1;
            var blockedUntil = state.BlockedUntil;
            if (failures > FreeFailures)
            {
                var cap = remote is not null && IPAddress.IsLoopback(remote) ? LoopbackMaxDelay : MaxDelay;
                var doublings = Math.Min(failures - FreeFailures - 1, 16);
                var delay = TimeSpan.FromTicks(Math.Min(FirstDelay.Ticks << doublings, cap.Ticks));
                blockedUntil = now + delay;
            }

            if (!_addresses.ContainsKey(key) && _addresses.Count >= MaxTracked)
                MakeRoom(now);
            _addresses[key] = new State(failures, now, blockedUntil);
        }
    }

    public void Succeeded(IPAddress? remote)
    {
        lock (_gate)
            _addresses.Remove(Key(remote));
    }

    /// <summary>Addresses are kept per IPv4 address and per IPv6 /64.</summary>
    public static string Key(IPAddress? remote)
    {
        if (remote is null)
            return "?";
        if (remote.IsIPv4MappedToIPv6)
            remote = remote.MapToIPv4();
        if (remote.AddressFamily != AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(remote))
            return remote.ToString();
        var bytes = remote.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    // Under _gate. Forgets addresses that stopped failing, else the one that failed longest ago.
    private void MakeRoom(DateTimeOffset now)
    {
        foreach (var (key, state) in _addresses.ToList())
        {
            if (now - state.LastFailure > ForgetAfter || (state.BlockedUntil <= now && state.Failures <= FreeFailures))
                _addresses.Remove(key);
        }

        if (_addresses.Count >= MaxTracked)
            _addresses.Remove(_addresses.MinBy(a => a.Value.LastFailure).Key);
    }

    private readonly record struct State(int Failures, DateTimeOffset LastFailure, DateTimeOffset BlockedUntil);
}
