using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.GridNode;
using Grid.Edge.Hub.Hosting;

namespace Grid.Edge.Hub.Exports;

/// <summary><c>export backfill | status</c>: through the running hub's control socket.</summary>
internal static class ExportCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Command Create(HubCommandLine commandLine)
    {
        var export = new Command("export", "The exports to InfluxDB and VictoriaMetrics (Hub:Exports). These commands talk to the hub running with this data directory.");

        var name = new Argument<string>("name") { Description = "The export's Name, as configured." };
        var from = new Option<string>("--from") { Description = "Where to start: RFC 3339 (2026-11-22T10:00:00Z), Unix ms or relative (-30d).", HelpName = "time", Required = true };
        var backfill = new Command("backfill", "Send the export's stored history from a time on again (the target keeps each point once).") { name, from };
        backfill.SetAction((parse, token) => GridCommands.RunAsync(commandLine, parse, async client =>
        {
            var response = await client.PostAsJsonAsync($"/api/exports/{Uri.EscapeDataString(parse.GetValue(name)!)}/backfill", new BackfillRequest(parse.GetValue(from)), Json, token);
            var started = await GridCommands.ReadAsync<BackfillResponse>(response, token);
            return $"Export '{started.Name}' sends {started.Series} series again from {started.From:yyyy-MM-dd HH:mm:ss}Z; 'export status' shows its progress.";
        }));

        var status = new Command("status", "Print each export's state: last success, lag and last error.");
        status.SetAction((parse, token) => GridCommands.RunAsync(commandLine, parse, async client =>
        {
            var states = await GridCommands.ReadAsync<List<ExportState>>(await client.GetAsync("/api/exports", token), token);
            return states.Count == 0
                ? "No exports are configured (Hub:Exports in appsettings.json or --config)."
                : string.Join(Environment.NewLine, states.Select(Describe));
        }));

        export.Subcommands.Add(backfill);
        export.Subcommands.Add(status);
        return export;
    }

    internal static string Describe(ExportState state)
    {
        var success = state.LastSuccess is { } at ? $"last success {at.ToLocalTime():yyyy-MM-dd HH:mm:ss}" : "no write yet";
        var error = state.LastError is null ? "" : $"{Environment.NewLine}  last error: {state.LastError}";
        return $"{state.Name} ({state.Kind} -> {state.Target}): {state.State}, {success}, {state.LagPoints:N0} points behind ({state.LagMs / 1000.0:0.#} s), {state.PointsSent:N0} sent{error}";
    }
}
