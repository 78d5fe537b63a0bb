using System.Security.Cryptography;
using System.Text;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Membership;

/// <summary>
/// A one-time, expiring code that lets a new hub join: the grid, where to reach the inviter and the inviter's CURVE
/// key (so the joiner's first connection is encrypted to the right hub), and a secret the joiner proves it knows
/// without sending it (<see cref="JoinProof"/>). Printed as <c>grid1-</c> and base32 of: version (1), grid id (16),
/// inviter hub id (16), inviter CURVE key (32), secret (32), expiry (Unix ms, 8), address count (1, 1-8) and each
/// address (length byte + UTF-8 <c>host:port</c>), then the first 4 bytes of SHA-256 of all that, so a mistyped
/// code is caught before any connection.
/// </summary>
internal sealed record Invitation(Id128 Grid, Id128 Inviter, byte[] InviterCurveKey, byte[] Secret, long ExpiresAtMs, IReadOnlyList<string> Addresses)
{
    public const string Prefix = "grid1-";
    public const int MaxAddresses = 8;
    private const byte Version = 1;

    /// <summary>The id the inviter files it under: a hash of the secret, so a code can be named without showing it.</summary>
    public Id128 Id => Id128.Hash("grid-edge/invitation/v1\0", Secret);

    public string Encode()
    {
        var w = new WireWriter();
        w.U8(Version);
        w.Id(Grid);
        w.Id(Inviter);
        w.Bytes(InviterCurveKey);
        w.Bytes(Secret);
        w.I64(ExpiresAtMs);
        w.U8((byte)Addresses.Count);
        foreach (var address in Addresses)
            w.ShortString(address);
        var payload = w.ToArray();
        return Prefix + Base32.Encode([.. payload, .. SHA256.HashData(payload).AsSpan(0, 4)]);
    }

    public static Invitation? TryDecode(string code, out string? error)
    {
        error = null;
        var text = code?.Trim() ?? "";
        if (!text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"an invitation code starts with '{Prefix}': copy it again from 'grid invite' on the inviting hub";
            return null;
        }

        if (!Base32.TryDecode(text.AsSpan(Prefix.Length), out var bytes) || bytes.Length < 5)
        {
            error = "the invitation code is mistyped or cut short (only letters and the digits 2-7 follow 'grid1-'): copy it again";
            return null;
        }

        var payload = bytes.AsSpan(0, bytes.Length - 4);
        if (!SHA256.HashData(payload).AsSpan(0, 4).SequenceEqual(bytes.AsSpan(bytes.Length - 4)))
        {
            error = "the invitation code is mistyped or cut short (its checksum does not match): copy it again";
            return null;
        }

        var reader = new WireReader(payload);
        Invitation? invitation = null;
        if (reader.U8("version", out var version) && (version == Version || reader.Fail($"invitation version {version} is not {Version}: update this hub"))
            && reader.Id("grid id", out var grid) && reader.Id("inviter", out var inviter) && reader.Bytes(32, "CURVE key", out var curve)
            && reader.Bytes(32, "secret", out var secret) && reader.I64("expiry", out var expires) && reader.U8("address count", out var count))
        {
            if (count is 0 or > MaxAddresses)
                reader.Fail($"{count} addresses, 1-{MaxAddresses} expected");
            var addresses = new List<string>();
            for (var i = 0; i < count && reader.ShortString("address", 255, out var address); i++)
            {
                if (!IsHostPort(address))
                    reader.Fail($"address '{address}' is not host:port");
                addresses.Add(address);
            }

            if (reader.End("addresses"))
                invitation = new Invitation(grid, inviter, curve.ToArray(), secret.ToArray(), expires, addresses);
        }

        error = reader.Error is null ? null : $"the invitation code is not valid: {reader.Error}";
        return invitation;
    }

    /// <summary>What the joiner sends instead of the secret: an HMAC binding the secret to the joiner's own keys.</summary>
    public static byte[] JoinProof(ReadOnlySpan<byte> secret, Id128 grid, ReadOnlySpan<byte> joinerHubKey, ReadOnlySpan<byte> joinerCurveKey)
    {
        var w = new WireWriter();
        w.Bytes("grid-edge/join/v1\0"u8);
        w.Id(grid);
        w.Bytes(joinerHubKey);
        w.Bytes(joinerCurveKey);
        return HMACSHA256.HashData(secret, w.Written);
    }

    private static bool IsHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && ushort.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port > 0
            && Encoding.UTF8.GetByteCount(address) == address.Length && !address.Any(char.IsWhiteSpace);
    }
}

/// <summary>
/// The inviter's record of the codes it issued: each redeems once, before it expires, and only with a proof made
/// from its secret. Pure state; the hub persists it so a restart neither forgets a code nor allows reuse.
/// </summary>
internal sealed class InvitationBook
{
    private readonly Dictionary<Id128, (Invitation Invitation, Id128? UsedBy)> _issued = [];

    /// <summary>Every code issued and the hub that used it, if one did: what the hub persists.</summary>
    public IEnumerable<(Invitation Invitation, Id128? UsedBy)> Issued => _issued.Values;

    /// <summary>Takes back a code from the persisted book.</summary>
    public void Restore(Invitation invitation, Id128? usedBy) => _issued[invitation.Id] = (invitation, usedBy);

    /// <summary>Forgets a code (one whose issue could not be saved).</summary>
    public void Forget(Id128 invitationId) => _issued.Remove(invitationId);

    /// <summary>Forgets codes that expired before <paramref name="nowMs"/> minus a day (a late join can still be told why).</summary>
    public void Prune(long nowMs)
    {
        foreach (var id in _issued.Where(e => e.Value.Invitation.ExpiresAtMs < nowMs - (long)TimeSpan.FromDays(1).TotalMilliseconds).Select(e => e.Key).ToList())
            _issued.Remove(id);
    }

    public Invitation Issue(Id128 grid, Id128 inviter, byte[] inviterCurveKey, IReadOnlyList<string> addresses, long nowMs, TimeSpan validFor)
    {
        var invitation = new Invitation(grid, inviter, inviterCurveKey, RandomNumberGenerator.GetBytes(32), nowMs + (long)validFor.TotalMilliseconds, [.. addresses]);
        _issued[invitation.Id] = (invitation, null);
        return invitation;
    }

    /// <summary>Why a join would be refused, or null when it would be accepted; spends nothing.</summary>
    public string? Check(Id128 invitationId, ReadOnlySpan<byte> proof, ReadOnlySpan<byte> joinerHubKey, ReadOnlySpan<byte> joinerCurveKey, long nowMs) =>
        Judge(invitationId, proof, joinerHubKey, joinerCurveKey, nowMs, spend: false);

    /// <summary>Why a join is refused, or null when it is accepted (and the code is spent).</summary>
    public string? Redeem(Id128 invitationId, ReadOnlySpan<byte> proof, ReadOnlySpan<byte> joinerHubKey, ReadOnlySpan<byte> joinerCurveKey, long nowMs) =>
        Judge(invitationId, proof, joinerHubKey, joinerCurveKey, nowMs, spend: true);

    private string? Judge(Id128 invitationId, ReadOnlySpan<byte> proof, ReadOnlySpan<byte> joinerHubKey, ReadOnlySpan<byte> joinerCurveKey, long nowMs, bool spend)
    {
        if (!_issued.TryGetValue(invitationId, out var entry))
            return "unknown invitation";
        var expected = Invitation.JoinProof(entry.Invitation.Secret, entry.Invitation.Grid, joinerHubKey, joinerCurveKey);
        if (!CryptographicOperations.FixedTimeEquals(expected, proof))
            return "the join proof does not match the invitation's secret";
        if (entry.UsedBy is { } usedBy)
            return $"the invitation was already used (by hub {usedBy})";
        if (nowMs >= entry.Invitation.ExpiresAtMs)
            return "the invitation has expired: ask for a new one ('grid invite')";
        if (spend)
            _issued[invitationId] = (entry.Invitation, Identity.HubKeys.HubIdOf(joinerHubKey));
        return null;
    }
}
