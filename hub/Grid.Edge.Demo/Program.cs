using System.CommandLine;
using Grid.Edge.Demo;
using Grid.Edge.Hub.Hosting;

var commandLine = new HubCommandLine(
    "Grid.Edge demo: the hub with a weather station and a van, each run by the real edge agent (the same code as\n" +
    "grid-agent) on simulated hardware. Their last days of history arrive through the agents' outboxes, then they report\n" +
    "live. The guest view is on, so the dashboards open without an account. Every hub option works here too.");
var days = new Option<int>("--days")
{
    Description = $"Days of history the demo devices backfill (only what the store lacks). Default {DemoSetup.DefaultDays}, at most {DemoSetup.MaxDays}.",
    HelpName = "days",
    DefaultValueFactory = _ => DemoSetup.DefaultDays,
};
commandLine.Root.Options.Add(days);
commandLine.Root.SetAction((parse, _) =>
{
    var configuration = commandLine.Configuration(parse, DemoSetup.Defaults());
    var backfill = parse.GetValue(days);
    return HubCommandLine.RunAsync(configuration, services => DemoSetup.AddServices(services, backfill));
});
return await commandLine.InvokeAsync(args);
