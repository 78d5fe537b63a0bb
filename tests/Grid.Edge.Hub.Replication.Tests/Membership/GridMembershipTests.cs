using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Microsoft.Extensions.Time.Testing;

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

    [Fact]
    public void An_invitation_admits_one_hub_once_before_it_expires_and_the_joiner_takes_the_grid_from_the_records()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(TestGrid.T0));
        using var identity = HubIdentity.LoadOrCreate(_dir.Path);
        var home = GridMembership.Open(identity, _dir.Path, time);
        Assert.Throws<GridMembershipException>(() => home.Invite(["127.0.0.1:7420"], TimeSpan.FromMinutes(10))); // no grid yet
        home.Create("home");
        var invitation = Invitation.TryDecode(home.Invite(["127.0.0.1:7420"], TimeSpan.FromMinutes(10)).Encode(), out _)!;
        var van = TestGrid.Hubs[1];
        var vanCurve = van.CurveKeyPair().Public;
        var proof = Invitation.JoinProof(invitation.Secret, invitation.Grid, van.PublicKey.Span, vanCurve);

        // A proof made for other keys, or from another secret, is refused; a check spends nothing.
        Assert.Null(home.CheckJoin(invitation.Id, proof, TestGrid.Hubs[2].PublicKey.Span, vanCurve, out var otherKey));
        Assert.Contains("does not match", otherKey, StringComparison.Ordinal);
        Assert.Null(home.CheckJoin(invitation.Id, new byte[32], van.PublicKey.Span, vanCurve, out _));
        var certificate = home.CheckJoin(invitation.Id, proof, van.PublicKey.Span, vanCurve, out _);
        Assert.NotNull(certificate);
        Assert.NotNull(home.CheckJoin(invitation.Id, proof, van.PublicKey.Span, vanCurve, out _));

        Assert.Null(home.Admit(invitation.Id, proof, certificate));
        Assert.Equal(2, home.View().Members.Count);
        Assert.Contains("already used", home.Admit(invitation.Id, proof, certificate), StringComparison.Ordinal);

        // The spent code stays spent across a restart.
        using var reopenedIdentity = HubIdentity.LoadOrCreate(_dir.Path);
        var reopened = GridMembership.Open(reopenedIdentity, _dir.Path, time);
        Assert.Null(reopened.CheckJoin(invitation.Id, proof, van.PublicKey.Span, vanCurve, out var spent));
        Assert.Contains("already used", spent, StringComparison.Ordinal);

        // Another code runs out.
        var later = reopened.Invite(["127.0.0.1:7420"], TimeSpan.FromMinutes(1));
        var third = TestGrid.Hubs[2];
        var thirdProof = Invitation.JoinProof(later.Secret, later.Grid, third.PublicKey.Span, third.CurveKeyPair().Public);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(reopened.CheckJoin(later.Id, thirdProof, third.PublicKey.Span, third.CurveKeyPair().Public, out var expired));
        Assert.Contains("expired", expired, StringComparison.Ordinal);

        // The joiner takes the records only for the invitation's grid, and only when they make it a member.
        using var joinerDir = new TempDirectory();
        using var joinerIdentity = HubIdentity.LoadOrCreate(joinerDir.Path);
        var stranger = GridMembership.Open(joinerIdentity, joinerDir.Path, time);
        Assert.Contains("do not make this hub a member", stranger.Join(reopened.Records(), invitation.Grid), StringComparison.Ordinal);
        Assert.Contains("not", stranger.Join(reopened.Records(), TestGrid.Grid), StringComparison.Ordinal);
        Assert.Null(stranger.GridId);
    }
}
