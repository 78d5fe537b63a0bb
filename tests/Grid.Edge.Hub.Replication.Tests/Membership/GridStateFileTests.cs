using CsCheck;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Membership;

public class GridStateFileTests
{
    private const long Now = 1_795_341_600_000;

    /// <summary>A founded grid with a member added and removed, and two invitations, one of them used.</summary>
    private static GridState SampleState()
    {
        var root = TestGrid.Hubs[0];
        var create = MembershipRecord.CreateGrid(root, "home", Certificate(0), Now);
        var grid = create.FoundedGrid;
        var add = MembershipRecord.AddMember(root, grid, [create.Id], Certificate(1), Now + 1);
        var remove = MembershipRecord.RemoveMember(root, grid, [add.Id], TestGrid.Hubs[1].HubId, Now + 2);
        var book = new InvitationBook();
        var used = book.Issue(grid, root.HubId, Certificate(0).CurveKey, ["192.168.1.20:7461"], Now, TimeSpan.FromMinutes(15));
        book.Issue(grid, root.HubId, Certificate(0).CurveKey, ["10.0.0.2:7461", "[200:1::5]:7461"], Now, TimeSpan.FromDays(1));
        book.Restore(used, TestGrid.Hubs[1].HubId);
        return new GridState([create, add, remove], [.. book.Issued]);
    }

    private static MemberCertificate Certificate(int hub) =>
        new(TestGrid.Hubs[hub].PublicKey.ToArray(), 0, TestGrid.Hubs[hub].CurveKeyPair().Public, [""]);

    [Fact]
    public void A_state_reads_back_as_it_was_written()
    {
        var state = SampleState();
        var decoded = GridStateFile.TryDecode(GridStateFile.Encode(state), out var error);
        Assert.True(decoded is not null, error);
        Assert.Equal(state.Records.Select(r => r.Id), decoded.Records.Select(r => r.Id));
        Assert.Equal(state.Invitations.Select(i => (i.Invitation.Encode(), i.UsedBy)), decoded.Invitations.Select(i => (i.Invitation.Encode(), i.UsedBy)));
    }

    [Fact]
    public void Any_damage_is_refused_with_a_reason_and_never_throws()
    {
        var bytes = GridStateFile.Encode(SampleState());
        Gen.Select(Gen.Int[0, bytes.Length - 1], Gen.Byte[1, 255], Gen.Int[0, bytes.Length]).Sample((at, flip, cut) =>
        {
            var flipped = (byte[])bytes.Clone();
            flipped[at] ^= flip;
            var state = GridStateFile.TryDecode(flipped, out var error);
            var truncated = GridStateFile.TryDecode(bytes.AsSpan(0, cut == bytes.Length ? cut - 1 : cut), out var truncatedError);
            return state is null && !string.IsNullOrEmpty(error) && truncated is null && !string.IsNullOrEmpty(truncatedError);
        }, iter: 2000, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void A_record_signed_by_no_one_is_refused_even_with_a_matching_checksum()
    {
        // A hand-edited file with a fixed-up checksum still holds only what members signed.
        var state = SampleState();
        var forged = state.Records[1].Encode();
        forged[^1] ^= 1; // the signature's last byte
        var w = new WireWriter();
        w.Bytes("GGS1"u8);
        w.Varint(1);
        w.Varint((ulong)forged.Length);
        w.Bytes(forged);
        w.Varint(0);
        var body = w.ToArray();
        var file = body.Concat(System.Security.Cryptography.SHA256.HashData(body).Take(16)).ToArray();
        Assert.Null(GridStateFile.TryDecode(file, out var error));
        Assert.Contains("record 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_curve_key_pair_is_derived_from_the_hub_seed_and_differs_per_hub()
    {
        var (secret, publicKey) = TestGrid.Hubs[0].CurveKeyPair();
        Assert.Equal(32, secret.Length);
        Assert.Equal(publicKey, TestGrid.Hubs[0].CurveKeyPair().Public);
        Assert.NotEqual(publicKey, TestGrid.Hubs[1].CurveKeyPair().Public);
        Assert.NotEqual(TestGrid.Hubs[0].PublicKey.ToArray(), publicKey);
    }
}
