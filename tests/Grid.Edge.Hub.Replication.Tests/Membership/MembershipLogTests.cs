using CsCheck;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Membership;

public class MembershipLogTests
{
    private static readonly HubKeys Root = TestGrid.Hubs[5];
    private static readonly HubKeys A = TestGrid.Hubs[0], B = TestGrid.Hubs[1], C = TestGrid.Hubs[2], D = TestGrid.Hubs[3], Outsider = TestGrid.Hubs[4];

    private static MemberCertificate Cert(HubKeys hub, params string[] prefixes) =>
        new(hub.PublicKey.ToArray(), 0, [.. Enumerable.Repeat((byte)7, 31), (byte)hub.HubId.GetHashCode()], prefixes.Length == 0 ? [""] : prefixes);

    /// <summary>Root creates the grid with A; A adds B and C (in that order).</summary>
    private sealed class Fixture
    {
        public Fixture()
        {
            Create = MembershipRecord.CreateGrid(Root, "family", Cert(A), 1);
            Log = MembershipLog.Found(Create, out _)!;
            AddB = Append(MembershipRecord.AddMember(A, Log.Grid, Log.Heads, Cert(B), 2));
            AddC = Append(MembershipRecord.AddMember(A, Log.Grid, Log.Heads, Cert(C, "van/"), 3));
        }

        public MembershipRecord Create { get; }
        public MembershipLog Log { get; }
        public MembershipRecord AddB { get; }
        public MembershipRecord AddC { get; }
        public List<MembershipRecord> Appended { get; } = [];

        public MembershipRecord Append(MembershipRecord record)
        {
            Assert.Equal(RecordOutcome.Added, Log.Add(MembershipRecord.TryDecode(record.Encode(), out var error) ?? throw new InvalidOperationException(error), out error));
            Appended.Add(record);
            return record;
        }

        public HashSet<Id128> Members => [.. Log.Members.Keys];
    }

    [Fact]
    public void Added_members_get_their_certificate_and_a_grant_removed_ones_lose_both()
    {
        var f = new Fixture();
        Assert.True(f.Members.SetEquals([A.HubId, B.HubId, C.HubId]));
        Assert.Equal(["van/"], f.Log.Members[C.HubId].WritablePrefixes);
        Assert.NotNull(f.Log.GrantFor(C.KeyId));
        Assert.True(f.Log.GrantFor(C.KeyId)!.MayWrite("van/speed"));
        Assert.False(f.Log.GrantFor(C.KeyId)!.MayWrite("home/temperature"));
        f.Append(MembershipRecord.RemoveMember(B, f.Log.Grid, f.Log.Heads, C.HubId, 4));
        Assert.True(f.Members.SetEquals([A.HubId, B.HubId]));
        Assert.Null(f.Log.GrantFor(C.KeyId));
        Assert.Null(f.Log.GrantFor(Outsider.KeyId));
    }

    [Fact]
    public void A_removal_wins_over_a_concurrent_re_add_and_only_an_add_that_knew_the_removal_re_admits()
    {
        var f = new Fixture();
        var heads = f.Log.Heads;
        var remove = f.Append(MembershipRecord.RemoveMember(A, f.Log.Grid, heads, B.HubId, 10));
        var concurrentReAdd = f.Append(MembershipRecord.AddMember(C, f.Log.Grid, heads, Cert(B), 11));
        Assert.DoesNotContain(B.HubId, f.Members);
        f.Append(MembershipRecord.AddMember(C, f.Log.Grid, [remove.Id, concurrentReAdd.Id], Cert(B), 12));
        Assert.Contains(B.HubId, f.Members);
    }

    [Fact]
    public void A_mutual_removal_removes_both()
    {
        var f = new Fixture();
        var heads = f.Log.Heads;
        f.Append(MembershipRecord.RemoveMember(B, f.Log.Grid, heads, C.HubId, 10));
        f.Append(MembershipRecord.RemoveMember(C, f.Log.Grid, heads, B.HubId, 10));
        Assert.True(f.Members.SetEquals([A.HubId]));
    }

    [Fact]
    public void Adds_by_a_hub_concurrent_with_its_removal_and_records_by_outsiders_do_not_count()
    {
        var f = new Fixture();
        var heads = f.Log.Heads;
        f.Append(MembershipRecord.RemoveMember(A, f.Log.Grid, heads, B.HubId, 10));
        f.Append(MembershipRecord.AddMember(B, f.Log.Grid, heads, Cert(D), 10));
        f.Append(MembershipRecord.AddMember(Outsider, f.Log.Grid, heads, Cert(Outsider), 10));
        f.Append(MembershipRecord.RemoveMember(Outsider, f.Log.Grid, heads, A.HubId, 10));
        Assert.True(f.Members.SetEquals([A.HubId, C.HubId]));

        // An add B made before its removal still stands.
        var g = new Fixture();
        g.Append(MembershipRecord.AddMember(B, g.Log.Grid, g.Log.Heads, Cert(D), 10));
        g.Append(MembershipRecord.RemoveMember(A, g.Log.Grid, g.Log.Heads, B.HubId, 11));
        Assert.True(g.Members.SetEquals([A.HubId, C.HubId, D.HubId]));
    }

    [Fact]
    public void Any_arrival_order_folds_to_the_same_members_records_waiting_for_their_deps()
    {
        var f = new Fixture();
        var heads = f.Log.Heads;
        var r1 = f.Append(MembershipRecord.RemoveMember(B, f.Log.Grid, heads, C.HubId, 10));
        var r2 = f.Append(MembershipRecord.RemoveMember(C, f.Log.Grid, heads, A.HubId, 10));
        f.Append(MembershipRecord.AddMember(A, f.Log.Grid, heads, Cert(D), 10));
        f.Append(MembershipRecord.AddMember(B, f.Log.Grid, [r1.Id, r2.Id], Cert(C), 11));
        f.Append(MembershipRecord.AddMember(B, f.Log.Grid, f.Log.Heads, Cert(A), 12));
        var expected = f.Members;
        Gen.Shuffle(f.Appended).Sample(order =>
        {
            var log = MembershipLog.Found(f.Create, out _)!;
            foreach (var record in order)
                Assert.NotEqual(RecordOutcome.Refused, log.Add(record, out _));
            Assert.Equal(0, log.PendingCount);
            Assert.True(expected.SetEquals(log.Members.Keys));
        }, iter: 30);
        Assert.True(expected.SetEquals([A.HubId, B.HubId, C.HubId]));
    }

    [Fact]
    public void Records_of_another_grid_tampered_or_random_bytes_are_refused_with_a_reason()
    {
        var f = new Fixture();
        var other = MembershipLog.Found(MembershipRecord.CreateGrid(Root, "other", Cert(A), 1), out _)!;
        Assert.Equal(RecordOutcome.Refused, other.Add(f.AddB, out var error));
        Assert.Contains("belongs to grid", error, StringComparison.Ordinal);
        Assert.Equal(RecordOutcome.Duplicate, f.Log.Add(f.Create, out _));
        Assert.Equal(RecordOutcome.Refused, f.Log.Add(other.Create, out error));
        Assert.Contains("one create record", error, StringComparison.Ordinal);
        Assert.Equal(RecordOutcome.Duplicate, f.Log.Add(f.AddB, out _));
        var bytes = f.AddC.Encode();
        for (var i = 0; i < bytes.Length; i += 3)
        {
            var mutated = (byte[])bytes.Clone();
            mutated[i] ^= 0x10;
            Assert.Null(MembershipRecord.TryDecode(mutated, out error));
            Assert.NotNull(error);
        }

        Gen.Byte.Array[0, 300].Select(b => "GEM1"u8.ToArray().Concat(b).ToArray()).Sample(b => { MembershipRecord.TryDecode(b, out _); }, iter: 3_000);
    }
}
