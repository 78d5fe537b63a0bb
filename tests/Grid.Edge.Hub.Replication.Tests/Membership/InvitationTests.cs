using CsCheck;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Membership;

public class InvitationTests
{
    private const long Now = 1_795_341_600_000;
    private static readonly Id128 Grid = TestGrid.Grid;
    private static readonly byte[] CurveKey = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly byte[] JoinerKey = TestGrid.Hubs[1].PublicKey.ToArray();
    private static readonly byte[] JoinerCurve = [.. Enumerable.Repeat((byte)9, 32)];

    [Fact]
    public void A_code_round_trips_and_redeems_once_with_a_proof_of_its_secret()
    {
        var book = new InvitationBook();
        var issued = book.Issue(Grid, TestGrid.Hubs[0].HubId, CurveKey, ["192.168.1.20:7461", "[200:1::5]:7461"], Now, TimeSpan.FromMinutes(15));
        var code = issued.Encode();
        Assert.StartsWith("grid1-", code, StringComparison.Ordinal);
        var decoded = Invitation.TryDecode(code.ToUpperInvariant().Replace("GRID1-", "grid1-", StringComparison.Ordinal), out var error);
        Assert.True(decoded is not null, error);
        Assert.Equal(issued.Addresses, decoded.Addresses);
        Assert.Equal(issued.Secret, decoded.Secret);
        Assert.Equal(Now + 15 * 60_000, decoded.ExpiresAtMs);

        var proof = Invitation.JoinProof(decoded.Secret, decoded.Grid, JoinerKey, JoinerCurve);
        Assert.Equal("the join proof does not match the invitation's secret", book.Redeem(decoded.Id, proof, JoinerKey, CurveKey, Now));
        Assert.Null(book.Redeem(decoded.Id, proof, JoinerKey, JoinerCurve, Now + 1000));
        Assert.StartsWith("the invitation was already used", book.Redeem(decoded.Id, proof, JoinerKey, JoinerCurve, Now + 2000), StringComparison.Ordinal);
        Assert.Equal("unknown invitation", book.Redeem(Id128.Hash("x", []), proof, JoinerKey, JoinerCurve, Now));
    }

    [Fact]
    public void An_expired_code_is_refused_and_says_to_ask_for_a_new_one()
    {
        var book = new InvitationBook();
        var issued = book.Issue(Grid, TestGrid.Hubs[0].HubId, CurveKey, ["10.0.0.1:7461"], Now, TimeSpan.FromMinutes(1));
        var proof = Invitation.JoinProof(issued.Secret, Grid, JoinerKey, JoinerCurve);
        Assert.Contains("expired", book.Redeem(issued.Id, proof, JoinerKey, JoinerCurve, Now + 60_000), StringComparison.Ordinal);
        Assert.Null(book.Redeem(issued.Id, proof, JoinerKey, JoinerCurve, Now + 59_999));
    }

    [Fact]
    public void A_mistyped_cut_or_random_code_is_refused_with_a_reason_never_an_exception()
    {
        var code = new InvitationBook().Issue(Grid, TestGrid.Hubs[0].HubId, CurveKey, ["10.0.0.1:7461"], Now, TimeSpan.FromMinutes(1)).Encode();
        var typo = code[..20] + (code[20] == 'a' ? 'b' : 'a') + code[21..];
        Assert.Contains("mistyped or cut short (its checksum", Refuse(typo), StringComparison.Ordinal);
        Assert.NotEqual(code, typo);
        Assert.Contains("mistyped or cut short", Refuse(code[..^8]), StringComparison.Ordinal);
        Assert.Contains("mistyped or cut short", Refuse(code[..^3]), StringComparison.Ordinal);
        Assert.Contains("mistyped or cut short", Refuse(code + "!"), StringComparison.Ordinal);
        Assert.Contains("starts with 'grid1-'", Refuse("hello"), StringComparison.Ordinal);
        Gen.String.Sample(s => { Invitation.TryDecode(s, out _); Invitation.TryDecode("grid1-" + s, out _); }, iter: 5_000);
        Gen.Byte.Array[5, 200].Sample(b =>
        {
            var withSum = b.Concat(System.Security.Cryptography.SHA256.HashData(b).Take(4)).ToArray();
            Invitation.TryDecode("grid1-" + Base32.Encode(withSum), out _);
        }, iter: 5_000);
    }

    [Fact]
    public void A_code_whose_address_is_not_host_and_port_is_refused()
    {
        var bad = new Invitation(Grid, TestGrid.Hubs[0].HubId, CurveKey, new byte[32], Now, ["no-port"]).Encode();
        Assert.Contains("is not host:port", Refuse(bad), StringComparison.Ordinal);
    }

    private static string Refuse(string code)
    {
        Assert.Null(Invitation.TryDecode(code, out var error));
        return error!;
    }
}
