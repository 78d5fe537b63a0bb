using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Links;
using Grid.Edge.Hub.Replication.Membership;

namespace Grid.Edge.Hub.Replication.Tests.Links;

public class LinkHandshakeTests
{
    private static readonly HubKeys Server = TestGrid.Hubs[0];
    private static readonly HubKeys Client = TestGrid.Hubs[1];
    private static readonly HubKeys Outsider = TestGrid.Hubs[4];

    private static MemberCertificate Certificate(HubKeys hub) => new(hub.PublicKey.ToArray(), 0, hub.CurveKeyPair().Public, [""]);

    private static LinkHandshake.Self SelfOf(HubKeys hub) => new(hub, hub.CurveKeyPair().Public);

    /// <summary>The grid's members: hubs 0-3.</summary>
    private static MemberCertificate? Members(ReadOnlySpan<byte> key)
    {
        for (var i = 0; i < 4; i++)
        {
            if (TestGrid.Hubs[i].PublicKey.Span.SequenceEqual(key))
                return Certificate(TestGrid.Hubs[i]);
        }

        return null;
    }

    private static (LinkClientHandshake Client, LinkServerHandshake Server) Pair(HubKeys client, HubKeys server, byte[]? pinned = null) =>
        (new LinkClientHandshake(SelfOf(client), TestGrid.Grid, pinned ?? server.CurveKeyPair().Public), new LinkServerHandshake(SelfOf(server), TestGrid.Grid));

    [Fact]
    public void Two_members_prove_themselves_to_each_other()
    {
        var (client, server) = Pair(Client, Server);
        var challenge = server.OnHello(client.Hello(), Members, out var helloError);
        Assert.True(challenge is not null, helloError);
        var proof = client.OnChallenge(challenge, Members, out var challengeError);
        Assert.True(proof is not null, challengeError);
        Assert.True(server.OnProof(proof, out var proofError), proofError);
        Assert.Equal(Client.HubId, server.Client!.HubId);
        Assert.Equal(Server.HubId, client.Server!.HubId);
    }

    [Fact]
    public void A_non_member_is_refused_before_anything_is_signed_for_it()
    {
        var (client, server) = Pair(Outsider, Server);
        Assert.Null(server.OnHello(client.Hello(), Members, out var error));
        Assert.Contains("is not a member", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_refuses_a_server_that_is_not_a_member_or_not_the_pinned_key()
    {
        // A server outside the grid, reached at the CURVE key the client pinned.
        var (toOutsider, outsider) = Pair(Client, Outsider);
        var challenge = outsider.OnHello(toOutsider.Hello(), key => Members(key) ?? (Client.PublicKey.Span.SequenceEqual(key) ? Certificate(Client) : null), out _)!;
        Assert.Null(toOutsider.OnChallenge(challenge, Members, out var error));
        Assert.Contains("is not a member", error, StringComparison.Ordinal);

        // A member answering for a link opened to another member's CURVE key (a relay between two members).
        var (pinnedElsewhere, member) = Pair(Client, Server, pinned: TestGrid.Hubs[2].CurveKeyPair().Public);
        var relayed = member.OnHello(pinnedElsewhere.Hello(), Members, out _)!;
        Assert.Null(pinnedElsewhere.OnChallenge(relayed, Members, out var pinError));
        Assert.Contains("not the one this link was opened to", pinError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_proof_from_another_session_or_a_reflected_signature_is_refused()
    {
        var (client, server) = Pair(Client, Server);
        var proof = client.OnChallenge(server.OnHello(client.Hello(), Members, out _)!, Members, out _)!;

        // Replayed into a new session: the server's nonce differs, so the signed transcript does.
        var (_, fresh) = Pair(Client, Server);
        var (again, _) = Pair(Client, Server);
        fresh.OnHello(again.Hello(), Members, out _);
        Assert.False(fresh.OnProof(proof, out var replayError));
        Assert.Contains("signature does not verify", replayError, StringComparison.Ordinal);

        // The server's own signature sent back as the client's proof: made by another key, refused.
        var (mirror, mirrorServer) = Pair(Client, Server);
        var challenge = mirrorServer.OnHello(mirror.Hello(), Members, out _)!;
        var reflected = LinkHandshake.Start(LinkMessageKind.Proof);
        reflected.Bytes(challenge.AsSpan(challenge.Length - 64));
        Assert.False(mirrorServer.OnProof(reflected.ToArray(), out _));
        Assert.Null(mirrorServer.Client);
    }

    [Fact]
    public void A_hub_claiming_the_server_s_own_key_is_refused_and_the_two_roles_sign_apart()
    {
        // Someone presenting the server's own (public) key would otherwise only need the server's challenge signature
        // as its proof; the server refuses a link to itself, and a signature made in one role never verifies in the other.
        var (self, server) = Pair(Server, Server);
        Assert.Null(server.OnHello(self.Hello(), Members, out var error));
        Assert.Equal("a hub does not link to itself", error);

        var transcript = LinkHandshake.Transcript(TestGrid.Grid, Server.PublicKey.Span, new byte[32], Server.PublicKey.Span, new byte[32], new byte[32], new byte[32]);
        var asServer = LinkHandshake.SignAs(server: true, Server, transcript);
        Assert.Null(LinkHandshake.VerifyAs(server: true, Server.PublicKey.Span, transcript, asServer));
        Assert.NotNull(LinkHandshake.VerifyAs(server: false, Server.PublicKey.Span, transcript, asServer));
    }

    [Fact]
    public void A_tampered_challenge_or_a_wrong_grid_is_refused_with_a_reason()
    {
        var (client, server) = Pair(Client, Server);
        var challenge = server.OnHello(client.Hello(), Members, out _)!;
        for (var i = 5; i < challenge.Length; i += 7)
        {
            var tampered = (byte[])challenge.Clone();
            tampered[i] ^= 0x20;
            var (retry, _) = Pair(Client, Server);
            Assert.Null(retry.OnChallenge(tampered, Members, out var error));
            Assert.False(string.IsNullOrEmpty(error));
        }

        var otherGrid = new LinkServerHandshake(SelfOf(Server), Wire.Id128.Hash("another grid", [2]));
        Assert.Null(otherGrid.OnHello(client.Hello(), Members, out var gridError));
        Assert.Contains("this hub is in grid", gridError, StringComparison.Ordinal);
        Assert.Equal("this hub is in grid x", LinkHandshake.RefusalReason(LinkHandshake.Refusal("this hub is in grid x")));
        Assert.Null(LinkHandshake.KindOf("GEL1"u8));
        Assert.Equal(LinkMessageKind.Refused, LinkHandshake.KindOf(LinkHandshake.Refusal("no")));
    }
}
