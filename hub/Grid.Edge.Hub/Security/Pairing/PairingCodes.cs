using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Security.Pairing;

/// <summary>A pairing code waiting to be used; only its SHA-256 is stored.</summary>
internal sealed record PendingCode(string Hash, string? Device, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>Why a code did not pair.</summary>
internal enum RedeemFailure
{
    None,

    /// <summary>Unknown, already used, or expired: all look the same from outside, on purpose.</summary>
    InvalidCode,

    /// <summary>The code names no device and the request named none either.</summary>
    DeviceRequired,

    /// <summary>The code was made for another device than the one asking.</summary>
    DeviceMismatch,

    /// <summary>The device id is another user's, and the code was not made for it; the code stays valid.</summary>
    DeviceTaken,
}

/// <summary>
/// One-time pairing codes, kept in a small JSON file in the data directory so that the CLI (another process) and
/// the running hub share them. Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I), shown
/// as XXXX-XXXX; they expire and work once.
/// </summary>
internal sealed class PairingCodes(string path, TimeProvider time)
{
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly Lock FileLock = new();

    public (string Code, PendingCode Entry) Create(string? device, TimeSpan lifetime)
    {
        var chars = new char[8];
        for (var i = 0; i < chars.Length; i++)
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        var code = new string(chars, 0, 4) + "-" + new string(chars, 4, 4);
        var now = time.GetUtcNow();
        var entry = new PendingCode(Hash(code), device, now, now + lifetime);
        lock (FileLock)
        {
            var codes = Load(now);
            codes.Add(entry);
            Save(codes);
        }

        return (code, entry);
    }

    /// <summary>Codes not yet used or expired.</summary>
    public IReadOnlyList<PendingCode> Pending()
    {
        lock (FileLock)
            return Load(time.GetUtcNow());
    }

    /// <summary>
    /// Uses a code up. On success <paramref name="device"/> is the device it pairs. <paramref name="mayPair"/> is
    /// asked with the device and whether the code was made for it; when it says no, the code is not used up.
    /// </summary>
    public RedeemFailure Redeem(string code, string? requestedDevice, out string device, Func<string, bool, bool>? mayPair = null)
    {
        device = string.Empty;
        var hash = Hash(code);
        lock (FileLock)
        {
            var codes = Load(time.GetUtcNow());
            var entry = codes.FirstOrDefault(c => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(c.Hash), Encoding.ASCII.GetBytes(hash)));
            if (entry is null)
                return RedeemFailure.InvalidCode;
            if (entry.Device is not null && requestedDevice is not null && entry.Device != requestedDevice)
                return RedeemFailure.DeviceMismatch;
            var chosen = entry.Device ?? requestedDevice;
            if (chosen is null)
                return RedeemFailure.DeviceRequired;
            if (mayPair is not null && !mayPair(chosen, entry.Device is not null))
                return RedeemFailure.DeviceTaken;
            codes.Remove(entry);
            Save(codes);
            device = chosen;
            return RedeemFailure.None;
        }
    }

    /// <summary>Withdraws the pending codes made for a device.</summary>
    public int RemoveFor(string device)
    {
        lock (FileLock)
        {
            var codes = Load(time.GetUtcNow());
            var removed = codes.RemoveAll(c => c.Device == device);
            Save(codes);
            return removed;
        }
    }

    /// <summary>Upper case, without separators or spaces: "k7qf 3m9x" and "K7QF-3M9X" are the same code.</summary>
    public static string Normalize(string code) =>
        new(code.Where(char.IsAsciiLetterOrDigit).Select(char.ToUpperInvariant).ToArray());

    private static string Hash(string code) =>
        Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(Normalize(code))));

    private List<PendingCode> Load(DateTimeOffset now)
    {
        if (!File.Exists(path))
            return [];
        try
        {
            var codes = JsonSerializer.Deserialize<List<PendingCode>>(File.ReadAllText(path), Json) ?? [];
            return codes.Where(c => c.ExpiresAt > now && c.Hash.Length == 64).ToList();
        }
        catch (JsonException)
        {
            // A damaged file only holds short-lived codes: start over rather than refuse to pair anything.
            return [];
        }
    }

    private void Save(List<PendingCode> codes)
    {
        DurableFile.WriteAllText(path, JsonSerializer.Serialize(codes, Json), ownerOnly: true);
    }
}
