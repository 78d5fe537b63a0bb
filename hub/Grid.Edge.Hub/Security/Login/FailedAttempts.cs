using System.Collections.Concurrent;
using System.Net;

namespace Grid.Edge.Hub.Security.Login;

/// <summary>
/// Counts failed sign-ins per remote address: after <see cref="MaxFailures"/> within the window the address waits
/// until the window has passed. Guessing a password from one address is then a few attempts per quarter hour.
/// </summary>
internal sealed class FailedAttempts(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    // Bounded: an attacker with many addresses must not grow this without end.
    private const int MaxAddresses = 10_000;
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

    /// <summary>How long the address must still wait, or null when it may try.</summary>
    public TimeSpan? LockedOutFor(IPAddress? remote)
    {
        if (!_failures.TryGetValue(Key(remote), out var state) || state.Count < MaxFailures)
            return null;
        var left = Window - (time.GetUtcNow() - state.Since);
        return left > TimeSpan.Zero ? left : null;
    }

    public void Failed(IPAddress? remote)
    {
        var now = time.GetUtcNow();
        if (_failures.Count >= MaxAddresses)
        {
            foreach (var (key, state) in _failures)
            {
                if (now - state.Since > Window)
                    _failures.TryRemove(key, out _);
            }
        }

        _failures.AddOrUpdate(Key(remote), _ => (1, now), (_, s) => now - s.Since > Window ? (1, now) : (s.Count + 1, s.Since));
    }

    public void Succeeded(IPAddress? remote) => _failures.TryRemove(Key(remote), out _);

    private static string Key(IPAddress? remote) =>
        remote is null ? "?" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString();
}
