using System.CommandLine;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Hosting;
using Grid.Edge.Hub.Replication.Membership;

namespace Grid.Edge.Hub.GridNode;

/// <summary>
/// <c>grid create | invite | join | remove | status</c>: the operator's grid commands. They change the running hub through its
/// control socket, so they work while it serves, and the hub checks and persists every change itself.
/// </summary>
internal static class GridCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create(HubCommandLine commandLine)
    {
        var grid = new Command("grid", "The grid: hubs that replicate each other's readings. These commands talk to the hub running with this data directory.");

        var name = new Option<string>("--name") { Description = "The grid's name (1-64 bytes), shown on every member.", HelpName = "name", Required = true };
        var create = new Command("create", "Found a grid with this hub as its first member.") { name };
        create.SetAction((parse, token) => RunAsync(commandLine, parse, async client =>
        {
            var response = await client.PostAsJsonAsync("/api/grid", new CreateGridRequest(parse.GetValue(name)), Json, token);
            var grid = await ReadAsync<GridResponse>(response, token);
            return $"Grid '{grid.Grid.Name}' founded ({grid.Grid.Id}); this hub ({grid.Hub.Id}) is its first member.";
        }));

        var hub = new Argument<string>("hub-id") { Description = "The member's hub id, as 'grid status' lists it (this hub's own id: leave the grid)." };
        var remove = new Command("remove", "Remove a member: it is cut off by every member that hears of it, even if another member re-adds it concurrently.") { hub };
        remove.SetAction((parse, token) => RunAsync(commandLine, parse, async client =>
        {
            var id = parse.GetValue(hub)!.Trim();
            var response = await client.DeleteAsync($"/api/grid/members/{Uri.EscapeDataString(id)}", token);
            var grid = await ReadAsync<GridResponse>(response, token);
            return grid.Grid.IsMember
                ? $"Hub {id} removed from grid '{grid.Grid.Name}'; {grid.Grid.Members.Count} member(s) remain."
                : $"This hub left grid '{grid.Grid.Name}'.";
        }));

        var minutes = new Option<int>("--minutes") { Description = "How long the code stays valid (1-10080). Default 60.", HelpName = "minutes", DefaultValueFactory = _ => 60 };
        var invite = new Command("invite", "Print a one-time code another hub joins this grid with ('grid join <code>' there). It holds a secret: hand it over privately.") { minutes };
        invite.SetAction((parse, token) => RunAsync(commandLine, parse, async client =>
        {
            var response = await client.PostAsJsonAsync("/api/grid/invitations", new InviteRequest(parse.GetValue(minutes)), Json, token);
            var code = await ReadAsync<InviteResponse>(response, token);
            return $"{code.Code}\n\nValid once, until {code.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}. On the joining hub run: Grid.Edge.Hub grid join <code>\nIt connects to this hub at {string.Join(", ", code.Addresses)}.";
        }));

        var code = new Argument<string>("code") { Description = "The code 'grid invite' printed on a member (grid1-...)." };
        var join = new Command("join", "Join a grid with a code from 'grid invite': this hub connects to the inviter and takes the grid's records.") { code };
        join.SetAction((parse, token) => RunAsync(commandLine, parse, async client =>
        {
            var response = await client.PostAsJsonAsync("/api/grid/join", new JoinRequest(parse.GetValue(code)), Json, token);
            var grid = await ReadAsync<GridResponse>(response, token);
            return $"This hub ({grid.Hub.Id}) joined grid '{grid.Grid.Name}' ({grid.Grid.Id}); {grid.Grid.Members.Count} member(s). Readings now replicate; 'grid status' shows the peers.";
        }));

        var status = new Command("status", "Print this hub's grid, its members and its peers.");
        status.SetAction((parse, token) => RunAsync(commandLine, parse, async client =>
            Describe(await ReadAsync<GridResponse>(await client.GetAsync("/api/grid", token), token))));

        grid.Subcommands.Add(create);
        grid.Subcommands.Add(invite);
        grid.Subcommands.Add(join);
        grid.Subcommands.Add(remove);
        grid.Subcommands.Add(status);
        return grid;
    }

    /// <summary>The status as people read it.</summary>
    internal static string Describe(GridResponse response)
    {
        var text = new StringBuilder();
        text.AppendLine($"hub:     {response.Hub.Id}");
        var grid = response.Grid;
        if (grid.Id is null)
        {
            text.Append("grid:    none yet; found one with 'grid create --name <name>'");
            return text.ToString();
        }

        text.AppendLine($"grid:    {grid.Name} ({grid.Id}), founded by {grid.RootHubId}");
        if (!grid.IsMember)
            text.AppendLine("         this hub was removed from the grid: it keeps what it holds and takes no part");
        if (grid.PendingRecords > 0)
            text.AppendLine($"         {grid.PendingRecords} control record(s) wait for records not received yet");
        text.Append($"members: {grid.Members.Count}");
        foreach (var member in grid.Members)
        {
            var notes = new List<string>();
            if (member.IsThisHub)
                notes.Add("this hub");
            if (member.IsRoot)
                notes.Add("founder");
            notes.Add(member.WritablePrefixes.Any(p => p.Length == 0) ? "writes every series" : "writes " + string.Join(", ", member.WritablePrefixes.Select(p => p + "*")));
            text.AppendLine();
            text.Append($"  {member.HubId}  {string.Join(", ", notes)}");
        }

        if (response.Links is { } links)
        {
            text.AppendLine();
            text.Append($"port:    {links.Port} ({string.Join(", ", links.Addresses)}); deltas authored {links.DeltasAuthored}, applied from peers {links.DeltasApplied}");
            if (links.DeltasHeld > 0)
                text.Append($", held back {links.DeltasHeld} (a peer's clock is more than --grid-max-skew ahead of this hub's)");
            foreach (var peer in links.Peers)
            {
                text.AppendLine();
                var contact = peer.LastContact is { } at ? $"last heard {at.ToLocalTime():yyyy-MM-dd HH:mm:ss}" : "never heard";
                text.Append($"  peer {peer.HubId}  {peer.State}  {peer.Address ?? "address unknown"}  {contact}  in {peer.BytesIn:N0} B, out {peer.BytesOut:N0} B  {Behind(peer)}");
            }
        }

        return text.ToString();
    }

    /// <summary>"in sync", or "2 h 13 min, 41,000 points behind", as the Grid page says it.</summary>
    internal static string Behind(Replication.Node.GridPeerView peer)
    {
        if (peer.PointsBehind is not { } points || peer.BehindMs is not { } ms)
            return "lag not known yet";
        if (points == 0 && ms == 0)
            return "in sync";
        var age = TimeSpan.FromMilliseconds(ms);
        var time = age.TotalDays >= 1 ? $"{(int)age.TotalDays} d {age.Hours} h"
            : age.TotalHours >= 1 ? $"{(int)age.TotalHours} h {age.Minutes} min"
            : age.TotalMinutes >= 1 ? $"{(int)age.TotalMinutes} min {age.Seconds} s"
            : $"{Math.Max(age.TotalSeconds, 0):0} s";
        return $"{time}, {points.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} points behind";
    }

    /// <summary>Runs a command against the running hub's control socket; what it returns is printed.</summary>
    internal static async Task<int> RunAsync(HubCommandLine commandLine, ParseResult parse, Func<HttpClient, Task<string>> command)
    {
        var options = commandLine.Options(parse);
        if (ControlSocket.Unusable(options.DataDir) is { } why)
            throw new HubConfigurationException($"This command cannot reach the hub: {why}.");
        using var client = ControlSocket.Client(options.DataDir);
        try
        {
            Console.WriteLine(await command(client));
            return 0;
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException or null)
        {
            throw new HubConfigurationException($"No hub answers for the data directory {Path.GetFullPath(options.DataDir)} (nothing on {ControlSocket.PathIn(options.DataDir)}): start the hub first, or give the --data-dir it runs with; these commands change the running hub.");
        }
        catch (Exception ex) when (ex is TaskCanceledException or HttpRequestException)
        {
            throw new HubConfigurationException($"The hub did not finish answering ({ex.Message}); check its log ('journalctl -u grid-edge-hub' on a Pi) and try again.");
        }
        catch (RefusedException refused)
        {
            await Console.Error.WriteLineAsync("error: " + refused.Message);
            return 1;
        }
    }

    /// <summary>The hub's answer, or its refusal as the command's error.</summary>
    internal static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken token)
        where T : class
    {
        if (!response.IsSuccessStatusCode)
        {
            var error = await TryReadAsync<ErrorResponse>(response, token);
            throw new RefusedException(error?.Error ?? $"the hub answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        return await TryReadAsync<T>(response, token)
            ?? throw new RefusedException("the hub's answer could not be read; is the hub the same version as this command?");
    }

    private static async Task<T?> TryReadAsync<T>(HttpResponseMessage response, CancellationToken token)
        where T : class
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Json, token);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The hub refused the change; its reason is the message.</summary>
    private sealed class RefusedException(string message) : Exception(message);
}
