using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Grid.Edge.Hub.Configuration;

namespace Grid.Edge.Hub.Security.Pairing;

/// <summary>The credentials a device receives when it pairs.</summary>
internal sealed record PairedDevice(string Device, string User, string Password);

/// <summary>
/// Pairs devices: a valid one-time code becomes a device user with a fresh random password in the users file
/// (hashed), restricted to the device's own topics. Re-pairing a device replaces its password, but only with a code
/// made for that device: a code that names no device never takes over an existing user, and no code ever replaces a
/// service user or one from the configuration. Revoking removes the user; the hub then closes the device's sessions.
/// Failed attempts are limited per address.
/// </summary>
internal sealed class DevicePairing(HubOptions options, TimeProvider time, MqttUserDirectory? directory = null)
{
    private const int MaxFailures = 10;
    private static readonly TimeSpan FailureWindow = TimeSpan.FromMinutes(10);
    private static readonly Lock UsersLock = new();
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

    public PairingCodes Codes { get; } = new(options.PairingFile, time);

    public (string Code, PendingCode Entry) CreateCode(string? device, TimeSpan? lifetime = null)
    {
        if (device is not null && !UsersFile.IsValidUserName(device))
            throw new ArgumentException($"device id '{device}' must be 1-64 of A-Z a-z 0-9 _ . -", nameof(device));
        return Codes.Create(device, lifetime ?? TimeSpan.FromMinutes(options.PairingCodeMinutes));
    }

    /// <summary>True when <paramref name="remote"/> has failed too often recently and must wait.</summary>
    public bool IsLockedOut(IPAddress? remote)
    {
        var key = remote?.ToString() ?? "?";
        return _failures.TryGetValue(key, out var state) && state.Count >= MaxFailures && time.GetUtcNow() - state.Since < FailureWindow;
    }

    /// <summary>Redeems a code; on success the device's credentials, else why not.</summary>
    public (PairedDevice? Device, string? Error) Redeem(string code, string? requestedDevice, IPAddress? remote)
    {
        if (requestedDevice is not null && !UsersFile.IsValidUserName(requestedDevice))
            return (null, $"device id '{requestedDevice}' must be 1-64 of A-Z a-z 0-9 _ . -");
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
        lock (UsersLock)
        {
            var path = options.ResolvedUsersFile;
            var users = File.Exists(path) ? UsersFile.Read(path) : new Dictionary<string, string>(StringComparer.Ordinal);
            var failure = Codes.Redeem(code, requestedDevice, out var device, (chosen, bound) => MayPair(users, chosen, bound));
            if (failure != RedeemFailure.None)
                return (null, Explain(failure, requestedDevice ?? device, remote));
            users[device] = UsersFile.Entry(PasswordHash.Create(password), service: false);
            UsersFile.Write(path, users);
            return (new PairedDevice(device, device, password), null);
        }
    }

    /// <summary>A device id may be paired when nobody has it, or when it is a device user the code was made for.</summary>
    private bool MayPair(Dictionary<string, string> fileUsers, string device, bool bound)
    {
        if (fileUsers.TryGetValue(device, out var entry))
            return bound && !UsersFile.Split(entry).Service;
        return directory?.EntryOf(device) is null;
    }

    private string Explain(RedeemFailure failure, string? device, IPAddress? remote)
    {
        if (failure == RedeemFailure.DeviceTaken)
            return $"device id '{device}' is already taken by another user; choose another id, or ask for a code made for '{device}' to pair it again";
        CountFailure(remote);
        return failure switch
        {
            RedeemFailure.DeviceRequired => "this code names no device: give the device id to pair",
            RedeemFailure.DeviceMismatch => "this code was made for another device",
            _ => "the code is not valid: it may be mistyped, used already, or expired; ask for a new one",
        };
    }

    /// <summary>Removes a device's credentials and pending codes; false when it had none.</summary>
    public bool Revoke(string device)
    {
        var removedCodes = Codes.RemoveFor(device);
        lock (UsersLock)
        {
            var path = options.ResolvedUsersFile;
            var users = File.Exists(path) ? UsersFile.Read(path) : new Dictionary<string, string>(StringComparer.Ordinal);
            if (!users.Remove(device))
                return removedCodes > 0;
            UsersFile.Write(path, users);
            return true;
        }
    }

    private void CountFailure(IPAddress? remote)
    {
        var now = time.GetUtcNow();
        _failures.AddOrUpdate(
            remote?.ToString() ?? "?",
            _ => (1, now),
            (_, s) => now - s.Since > FailureWindow ? (1, now) : (s.Count + 1, s.Since));
    }
}
