using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;

namespace Grid.Edge.Hub.Replication.Tests.Membership;

public sealed class GridMembershipTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_change_that_cannot_be_saved_is_not_served_and_can_be_made_again()
    {
        using var identity = HubIdentity.LoadOrCreate(_dir.Path);
        var membership = GridMembership.Open(identity, _dir.Path);
        membership.Create("home");
        var van = TestGrid.Hubs[1];
        var records = membership.Records();
        var add = MembershipRecord.AddMember(identity.Keys, records[0].FoundedGrid, records.Select(r => r.Id), new MemberCertificate(van.PublicKey.ToArray(), 0, van.CurveKeyPair().Public, [""]), 1);
        Assert.Equal(RecordOutcome.Added, membership.Receive(add, out _));

        // The state file cannot be replaced (a folder stands in its way): the removal fails and nothing of it stays.
        var state = Path.Combine(_dir.Path, GridMembership.FileName);
        File.Delete(state);
        Directory.CreateDirectory(state);
        Assert.ThrowsAny<IOException>(() => membership.Remove(van.HubId.ToString()));
        Assert.Equal(2, membership.View().Members.Count);
        Assert.NotNull(membership.MemberByKey(van.PublicKey.Span));

        Directory.Delete(state);
        var after = membership.Remove(van.HubId.ToString());
        Assert.Equal(identity.HubId, Assert.Single(after.Members).HubId);
        using var again = HubIdentity.LoadOrCreate(_dir.Path);
        Assert.Single(GridMembership.Open(again, _dir.Path).View().Members);
    }
}
