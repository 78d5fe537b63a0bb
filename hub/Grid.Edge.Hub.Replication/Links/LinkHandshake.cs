using System.Security.Cryptography;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Links;

/// <summary>The kinds of handshake message; the first byte after the magic.</summary>
internal enum LinkMessageKind : byte
{
    Hello = 1,
    Challenge = 2,
    Proof = 3,
    Accepted = 4,
    Refused = 5,

    /// <summary>Liveness on an established link: a link silent for longer than its timeout is dropped.</summary>
    Ping = 6,
}

/// <summary>
/// The members' own authentication on top of CurveZMQ (DESIGN.md section 5). NetMQ has no ZAP and exposes no
/// per-session key, so the link is pinned instead: the client connects with the server's CURVE key from the
/// server's member certificate, and both sides sign one transcript (grid id, both hub keys, both CURVE keys, a
/// fresh nonce from each side) inside the encrypted channel, each under its own role's domain so neither
/// signature can be played back as the other. A relay in the middle would need the pinned CURVE secret or a
/// member's signing key; a proof from another session fails on the other nonce.
/// <para>
/// Messages: <c>GEL3</c> (the grid protocol's version is its last character), kind, then: Hello: grid id (16), client hub key (32), client CURVE key (32), client nonce
/// (32), and for a hub joining with an invitation, the invitation id (16) and the join proof (32). Challenge: server hub key (32), server CURVE key (32), server nonce (32), server signature (64). Proof:
/// client signature (64). Accepted: nothing. Refused: a reason (length byte + UTF-8).
/// </para>
/// </summary>
internal static class LinkHandshake
{
    public const int NonceSize = 32;

    /// <summary>
    /// The grid protocol this release speaks: 2 added catch-up in rounds and device deltas. Hubs of another version
    /// do not link; each side says which of them to upgrade.
    /// </summary>
    public const int Protocol = 3;

    private static ReadOnlySpan<byte> Magic => "GEL3"u8;
    private static ReadOnlySpan<byte> ServerDomain => "grid-edge/link/server/v1\0"u8;
    private static ReadOnlySpan<byte> ClientDomain => "grid-edge/link/client/v1\0"u8;

    /// <summary>What a side knows of itself: its signing keys and its CURVE public key.</summary>
    public sealed record Self(HubKeys Keys, byte[] CurveKey);

    /// <summary>Finds the member certificate of a hub key, or null for anyone not a member now.</summary>
    public delegate MemberCertificate? MemberLookup(ReadOnlySpan<byte> hubKey);

    /// <summary>The certificate a hub joining with <paramref name="ticket"/> would get, or null with the reason; spends nothing.</summary>
    public delegate MemberCertificate? JoinCheck(JoinTicket ticket, ReadOnlySpan<byte> hubKey, ReadOnlySpan<byte> curveKey, out string? error);

    public const int JoinProofSize = 32;

    public static byte[] Transcript(Id128 grid, ReadOnlySpan<byte> clientKey, ReadOnlySpan<byte> clientCurve, ReadOnlySpan<byte> serverKey, ReadOnlySpan<byte> serverCurve, ReadOnlySpan<byte> clientNonce, ReadOnlySpan<byte> serverNonce)
    {
        var w = new WireWriter();
        w.Id(grid);
        w.Bytes(clientKey);
        w.Bytes(clientCurve);
        w.Bytes(serverKey);
        w.Bytes(serverCurve);
        w.Bytes(clientNonce);
        w.Bytes(serverNonce);
        return w.ToArray();
    }

    public static byte[] Refusal(string reason)
    {
        var w = Start(LinkMessageKind.Refused);
        w.ShortString(reason.Length > 200 ? reason[..200] : reason);
        return w.ToArray();
    }

    public static byte[] Control(LinkMessageKind kind) => Start(kind).ToArray();

    /// <summary>The kind of a handshake message, or null when it is not one.</summary>
    public static LinkMessageKind? KindOf(ReadOnlySpan<byte> message) =>
        message.Length > Magic.Length && message[..Magic.Length].SequenceEqual(Magic) && Enum.IsDefined((LinkMessageKind)message[Magic.Length])
            ? (LinkMessageKind)message[Magic.Length]
            : null;

    /// <summary>The version of a handshake message of another grid protocol (<c>GEL&lt;digit&gt;</c>), or null.</summary>
    public static int? OtherProtocol(ReadOnlySpan<byte> message) =>
        message.Length > Magic.Length && message[..3].SequenceEqual("GEL"u8) && message[3] is >= (byte)'1' and <= (byte)'9' && message[3] - '0' != Protocol
            ? message[3] - '0'
            : null;

    /// <summary>A refusal a hub of protocol <paramref name="version"/> can read: the same layout under its own magic.</summary>
    public static byte[] RefusalFor(int version, string reason)
    {
        var refusal = Refusal(reason);
        refusal[3] = (byte)('0' + version);
        return refusal;
    }

    /// <summary>The reason in a Refused message.</summary>
    public static string RefusalReason(ReadOnlySpan<byte> message)
    {
        var reader = Open(message, LinkMessageKind.Refused);
        return reader.ShortString("reason", 255, out var reason) ? reason : "the peer refused the link (its reason could not be read)";
    }

    internal static WireWriter Start(LinkMessageKind kind)
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.U8((byte)kind);
        return w;
    }

    internal static WireReader Open(ReadOnlySpan<byte> message, LinkMessageKind kind)
    {
        var reader = new WireReader(message);
        if (KindOf(message) != kind)
            reader.Fail($"expected a {kind} message");
        else
            reader.Bytes(Magic.Length + 1, "header", out _);
        return reader;
    }

    internal static byte[] SignAs(bool server, HubKeys keys, byte[] transcript) =>
        keys.Sign([.. server ? ServerDomain : ClientDomain, .. transcript]);

    internal static string? VerifyAs(bool server, ReadOnlySpan<byte> key, byte[] transcript, ReadOnlySpan<byte> signature)
    {
        if (!StrictEd25519.TryImport(key, out var verifying, out var keyError))
            return $"the {(server ? "server" : "client")}'s key is refused: {keyError}";
        return StrictEd25519.Verify(verifying!, [.. server ? ServerDomain : ClientDomain, .. transcript], signature, out var error)
            ? null
            : $"the {(server ? "server" : "client")}'s signature does not verify ({error})";
    }

    internal static byte[] Nonce() => RandomNumberGenerator.GetBytes(NonceSize);
}

/// <summary>What a hub that is not yet a member shows to join a grid: the invitation's id and the proof made from its secret.</summary>
internal sealed record JoinTicket(Id128 Grid, Id128 Invitation, byte[] Proof);

/// <summary>The connecting side of one link's handshake: Hello, then a Proof for the server's Challenge.</summary>
internal sealed class LinkClientHandshake(LinkHandshake.Self self, Id128 grid, byte[] pinnedServerCurve, byte[]? nonce = null, JoinTicket? ticket = null)
{
    private readonly byte[] _nonce = nonce ?? LinkHandshake.Nonce();

    /// <summary>The server's certificate once it proved itself.</summary>
    public MemberCertificate? Server { get; private set; }

    public byte[] Hello()
    {
        var w = LinkHandshake.Start(LinkMessageKind.Hello);
        w.Id(grid);
        w.Bytes(self.Keys.PublicKey.Span);
        w.Bytes(self.CurveKey);
        w.Bytes(_nonce);
        if (ticket is not null)
        {
            w.Id(ticket.Invitation);
            w.Bytes(ticket.Proof);
        }

        return w.ToArray();
    }

    /// <summary>Checks the server's challenge and answers it; null with the reason when the server is not who it must be.</summary>
    public byte[]? OnChallenge(ReadOnlySpan<byte> message, LinkHandshake.MemberLookup members, out string? error)
    {
        var reader = LinkHandshake.Open(message, LinkMessageKind.Challenge);
        error = null;
        if (reader.Bytes(32, "server key", out var serverKey) && reader.Bytes(32, "server CURVE key", out var serverCurve)
            && reader.Bytes(LinkHandshake.NonceSize, "server nonce", out var serverNonce) && reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature)
            && reader.End("challenge"))
        {
            var certificate = members(serverKey);
            var transcript = LinkHandshake.Transcript(grid, self.Keys.PublicKey.Span, self.CurveKey, serverKey, serverCurve, _nonce, serverNonce);
            if (!serverCurve.SequenceEqual(pinnedServerCurve))
                error = "the server's CURVE key is not the one this link was opened to";
            else if (certificate is null)
                error = $"the server (hub {HubKeys.HubIdOf(serverKey)}) is not a member of the grid";
            else if (!certificate.CurveKey.AsSpan().SequenceEqual(serverCurve))
                error = "the server's CURVE key is not the one its member certificate names";
            else
                error = LinkHandshake.VerifyAs(server: true, serverKey, transcript, signature);
            if (error is null)
            {
                Server = certificate;
                var w = LinkHandshake.Start(LinkMessageKind.Proof);
                w.Bytes(LinkHandshake.SignAs(server: false, self.Keys, transcript));
                return w.ToArray();
            }
        }

        error ??= reader.Error;
        return null;
    }
}

/// <summary>The listening side of one link's handshake: a Challenge for the client's Hello, then its verdict on the Proof.</summary>
internal sealed class LinkServerHandshake(LinkHandshake.Self self, Id128 grid, byte[]? nonce = null)
{
    private readonly byte[] _nonce = nonce ?? LinkHandshake.Nonce();
    private byte[]? _transcript;
    private byte[]? _hello;
    private byte[]? _challenge;
    private MemberCertificate? _candidate;

    /// <summary>The client's certificate once it proved itself.</summary>
    public MemberCertificate? Client { get; private set; }

    /// <summary>The invitation a client that is not yet a member joins with: the host admits it once it proved its key.</summary>
    public JoinTicket? Joining { get; private set; }

    /// <summary>The challenge for a member's Hello (or a joiner's with a valid invitation); null with the reason (to send back as a Refused) otherwise.</summary>
    public byte[]? OnHello(ReadOnlySpan<byte> message, LinkHandshake.MemberLookup members, out string? error) => OnHello(message, members, null, out error);

    /// <inheritdoc cref="OnHello(ReadOnlySpan{byte}, LinkHandshake.MemberLookup, out string?)"/>
    public byte[]? OnHello(ReadOnlySpan<byte> message, LinkHandshake.MemberLookup members, LinkHandshake.JoinCheck? joins, out string? error)
    {
        var reader = LinkHandshake.Open(message, LinkMessageKind.Hello);
        error = null;
        if (_transcript is not null && _hello is not null && message.SequenceEqual(_hello))
            return _challenge; // the client sent it again (its first may have died with a connection): the same answer
        if (_transcript is not null)
            error = "a second, different Hello on one link";
        else if (reader.Id("grid id", out var clientGrid) && reader.Bytes(32, "client key", out var clientKey)
            && reader.Bytes(32, "client CURVE key", out var clientCurve) && reader.Bytes(LinkHandshake.NonceSize, "client nonce", out var clientNonce)
            && ReadTicket(ref reader, clientGrid, out var ticket))
        {
            var certificate = members(clientKey);
            string? joinError = null;
            if (certificate is null && ticket is not null)
                certificate = joins is null ? null : joins(ticket, clientKey, clientCurve, out joinError);
            if (clientGrid != grid)
                error = $"this hub is in grid {grid}, not {clientGrid}";
            else if (clientKey.SequenceEqual(self.Keys.PublicKey.Span))
                error = "a hub does not link to itself";
            else if (certificate is null)
                error = ticket is null ? $"hub {HubKeys.HubIdOf(clientKey)} is not a member of the grid" : $"the invitation is refused: {joinError ?? "this hub admits no one"}";
            else if (!certificate.CurveKey.AsSpan().SequenceEqual(clientCurve))
                error = "the client's CURVE key is not the one its member certificate names";
            else
            {
                _candidate = certificate;
                Joining = members(clientKey) is null ? ticket : null;
                _transcript = LinkHandshake.Transcript(grid, clientKey, clientCurve, self.Keys.PublicKey.Span, self.CurveKey, clientNonce, _nonce);
                var w = LinkHandshake.Start(LinkMessageKind.Challenge);
                w.Bytes(self.Keys.PublicKey.Span);
                w.Bytes(self.CurveKey);
                w.Bytes(_nonce);
                w.Bytes(LinkHandshake.SignAs(server: true, self.Keys, _transcript));
                _hello = message.ToArray();
                _challenge = w.ToArray();
                return _challenge;
            }
        }

        error ??= reader.Error;
        return null;
    }

    /// <summary>True when the client proved it holds the member key it named for this very session.</summary>
    public bool OnProof(ReadOnlySpan<byte> message, out string? error)
    {
        var reader = LinkHandshake.Open(message, LinkMessageKind.Proof);
        error = null;
        if (_transcript is null || _candidate is null)
            error = "a Proof before a Hello";
        else if (reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature) && reader.End("proof"))
            error = LinkHandshake.VerifyAs(server: false, _candidate.HubKey, _transcript, signature);
        error ??= reader.Error;
        if (error is null)
            Client = _candidate;
        return error is null;
    }

    private static bool ReadTicket(ref WireReader reader, Id128 grid, out JoinTicket? ticket)
    {
        ticket = null;
        if (reader.Remaining == 0)
            return true;
        if (!reader.Id("invitation id", out var invitation) || !reader.Bytes(LinkHandshake.JoinProofSize, "join proof", out var proof) || !reader.End("hello"))
            return false;
        ticket = new JoinTicket(grid, invitation, proof.ToArray());
        return true;
    }
}
