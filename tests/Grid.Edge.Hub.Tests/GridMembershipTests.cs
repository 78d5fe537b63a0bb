using System.Net;
using System.Net.Http.Json;
using Grid.Edge.Hub.GridNode;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Grid.Edge.Hub.Tests;

/// <summary>The grid's membership as the operator drives it: the CLI against the running hub, and the HTTP API.</summary>
[Collection(HubProcessGroup.Name)]
public sealed class GridMembershipTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Output)> GridAsync(params string[] args) =>
        HubProcess.RunToEndAsync(null, ["grid", .. args, "--data-dir", _dir.Path]);

    [Fact]
    public async Task The_cli_founds_a_grid_on_the_running_hub_which_keeps_it_across_a_restart()
    {
        if (OperatingSystem.IsWindows())
            return; // the control socket is a Unix socket

        // No hub running: the command says so and what to do, with no stack trace.
        var (noHub, noHubOutput) = await GridAsync("status");
        Assert.Equal(2, noHub);
        Assert.Contains("start the hub first", noHubOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", noHubOutput, StringComparison.Ordinal);

        string hubId;
        await using (var hub = await HubProcess.StartAsync(_dir.Path))
        {
            hubId = hub.HubId;
            var socket = Path.Combine(_dir.Path, "run", "control.sock");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(socket)!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

            var (status, before) = await GridAsync("status");
            Assert.Equal(0, status);
            Assert.Contains($"hub:     {hubId}", before, StringComparison.Ordinal);
            Assert.Contains("grid:    none yet", before, StringComparison.Ordinal);

            var (created, createdOutput) = await GridAsync("create", "--name", "home");
            Assert.Equal(0, created);
            Assert.Contains("Grid 'home' founded", createdOutput, StringComparison.Ordinal);

            // The running hub serves the change at once, on its API too.
            var grid = (await hub.Http.GetFromJsonAsync<GridResponse>("/api/grid", Json.Options))!;
            Assert.Equal("home", grid.Grid.Name);
            Assert.Equal(hubId, grid.Grid.RootHubId);
            var member = Assert.Single(grid.Grid.Members);
            Assert.Equal(hubId, member.HubId);
            Assert.True(member.IsThisHub && member.IsRoot && grid.Grid.IsMember);
            Assert.Equal(32, Convert.FromBase64String(member.CurveKey).Length);

            var (again, againOutput) = await GridAsync("create", "--name", "other");
            Assert.Equal(1, again);
            Assert.Contains("already belongs to grid 'home'", againOutput, StringComparison.Ordinal);

            var (badId, badIdOutput) = await GridAsync("remove", "not-a-hub");
            Assert.Equal(1, badId);
            Assert.Contains("'not-a-hub' is not a hub id", badIdOutput, StringComparison.Ordinal);
            Assert.Equal(0, await hub.TerminateAsync());
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir.Path, GridMembership.FileName)));

        // A hub killed without a word leaves its socket behind; the next start takes the path over.
        await using (var restarted = await HubProcess.StartAsync(_dir.Path))
        {
            await restarted.KillAsync();
        }

        await using (var again = await HubProcess.StartAsync(_dir.Path))
        {
            var (status, after) = await GridAsync("status");
            Assert.Equal(0, status);
            Assert.Contains($"grid:    home (", after, StringComparison.Ordinal);
            Assert.Contains($"  {hubId}  this hub, founder, writes every series", after, StringComparison.Ordinal);
            Assert.Equal(0, await again.TerminateAsync());
        }
    }

    [Fact]
    public async Task A_damaged_grid_state_stops_the_start_with_what_to_do()
    {
        await File.WriteAllBytesAsync(Path.Combine(_dir.Path, GridMembership.FileName), "GGS1 not a state file at all"u8.ToArray());
        var (exit, output) = await HubProcess.RunToEndAsync(null, "--mqtt-port", "0", "--http-port", "0", "--grid-port", "0", "--discovery-port", "0", "--bind", "127.0.0.1", "--data-dir", _dir.Path);
        Assert.Equal(2, exit);
        Assert.Contains("grid state could not be loaded", output, StringComparison.Ordinal);
        Assert.Contains("checksum does not match", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_admin_changes_the_grid_and_a_removed_member_leaves_the_member_list()
    {
        await using var hub = await InProcessHub.StartAsync();
        using var stranger = hub.NewClient();

        // Over TCP without credentials nothing changes; the control socket's admin rights never come from TCP.
        using (var refused = await stranger.PostAsJsonAsync("/api/grid", new CreateGridRequest("home")))
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Null((await hub.GetAsync<GridResponse>("/api/grid"))!.Grid.Id);

        using (var bad = await hub.Http.PostAsJsonAsync("/api/grid", new CreateGridRequest(new string('x', 65))))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var created = await hub.Http.PostAsJsonAsync("/api/grid", new CreateGridRequest("home")))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // A second member, as a join will add it: an add record signed by this hub.
        var membership = hub.Services.GetRequiredService<GridMembership>();
        var identity = hub.Services.GetRequiredService<HubIdentity>();
        using var van = HubKeys.Create();
        var log = membership.Records();
        var grid = log.Single(r => r.Kind == MembershipKind.Create).FoundedGrid;
        var add = MembershipRecord.AddMember(identity.Keys, grid, log.Select(r => r.Id), new MemberCertificate(van.PublicKey.ToArray(), 0, van.CurveKeyPair().Public, ["van/"]), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(RecordOutcome.Added, membership.Receive(add, out _));
        var two = (await hub.GetAsync<GridResponse>("/api/grid"))!.Grid;
        Assert.Equal(2, two.Members.Count);
        Assert.Equal(["van/"], two.Members.Single(m => m.HubId == van.HubId.ToString()).WritablePrefixes);

        using (var strangerRemove = await stranger.DeleteAsync($"/api/grid/members/{van.HubId}"))
            Assert.Equal(HttpStatusCode.Unauthorized, strangerRemove.StatusCode);
        using (var removed = await hub.Http.DeleteAsync($"/api/grid/members/{van.HubId}"))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            var after = (await removed.Content.ReadFromJsonAsync<GridResponse>(Json.Options))!.Grid;
            Assert.Equal(identity.HubId, Assert.Single(after.Members).HubId);
            Assert.Equal(3, after.Records);
        }

        using (var twice = await hub.Http.DeleteAsync($"/api/grid/members/{van.HubId}"))
            Assert.Equal(HttpStatusCode.NotFound, twice.StatusCode);

        // What was answered is on disk: a fresh read of the state file folds to the same members.
        using var reopened = HubIdentity.LoadOrCreate(hub.DataDir);
        var fromDisk = GridMembership.Open(reopened, hub.DataDir).View();
        Assert.Equal(identity.HubId, Assert.Single(fromDisk.Members).HubId);
        Assert.Equal(3, fromDisk.Records);
    }
}
