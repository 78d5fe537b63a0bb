using System.CommandLine;
using Grid.Edge.Agent;
using Grid.Edge.Agent.Commands;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

var configOption = new Option<string>("--config")
{
    Description = "Settings file (JSON, the shape of appsettings.json). Also GRID_AGENT_CONFIG. Environment variables GRID_AGENT_Agent__DeviceId etc. override it.",
    HelpName = "file",
    Recursive = true,
};

var root = new RootCommand(
    "Grid.Edge agent: reads sensors and a vehicle's OBD-II port (ELM327) on a Linux board, keeps every reading in a durable " +
    "outbox, and sends them to the hub over MQTT, backfilling after outages.");
root.Options.Add(configOption);
root.SetAction((parse, cancellationToken) => RunAgentAsync(parse, cancellationToken));

var obd = new Command("obd", "OBD-II adapter tools.");
var adapterOption = new Option<string>("--adapter")
{
    Description = "Serial device (/dev/ttyUSB0, Bluetooth /dev/rfcomm0) or tcp://host:port (Wi-Fi adapters, usually tcp://192.168.0.10:35000).",
    HelpName = "path-or-url",
    Required = true,
};
var baudOption = new Option<int?>("--baud")
{
    Description = "Serial speed, tried first. Without it the speed is found: the one this device last answered at, then 38400, 9600, 115200, 230400, 500000; the one found is remembered per device in the data folder.",
    HelpName = "rate",
};
var obdDataDirOption = new Option<string>("--data-dir") { Description = "Where the last good baud rate of each serial adapter is remembered (default: Agent:DataDir from the settings).", HelpName = "dir" };
var scan = new Command("scan", "Connect to an adapter and print its version, the vehicle's protocol, supported PIDs, current values, trouble codes, VIN and battery voltage.")
{
    adapterOption,
    baudOption,
    obdDataDirOption,
};
scan.SetAction((parse, cancellationToken) => ObdScanCommand.RunAsync(parse.GetValue(adapterOption)!, parse.GetValue(baudOption), ObdDataDir(parse), Console.Out, Console.Error, cancellationToken));
obd.Subcommands.Add(scan);
var yesOption = new Option<bool>("--yes") { Description = "Confirm: clearing is never done without it." };
var clear = new Command("clear", "Clear the trouble codes (service 04): also the freeze frame and readiness monitors. Engine off, ignition on.")
{
    adapterOption,
    baudOption,
    obdDataDirOption,
    yesOption,
};
clear.SetAction((parse, cancellationToken) => ObdScanCommand.ClearAsync(parse.GetValue(adapterOption)!, parse.GetValue(baudOption), ObdDataDir(parse), parse.GetValue(yesOption), Console.Out, Console.Error, cancellationToken));
obd.Subcommands.Add(clear);
root.Subcommands.Add(obd);

var hubArgument = new Argument<string>("hub") { Description = "The hub's HTTP address, e.g. http://192.168.1.20:8080." };
var codeArgument = new Argument<string>("code") { Description = "The one-time code from the hub (dashboard or 'Grid.Edge.Hub pair create')." };
var deviceOption = new Option<string>("--device") { Description = "Device id to pair as (default: Agent:DeviceId from the settings).", HelpName = "id" };
var dataDirOption = new Option<string>("--data-dir") { Description = "Where to save the credentials (default: Agent:DataDir from the settings).", HelpName = "dir" };
var pair = new Command("pair", "Exchange a one-time pairing code from the hub for this device's own MQTT credentials.")
{
    hubArgument,
    codeArgument,
    deviceOption,
    dataDirOption,
};
pair.SetAction((parse, cancellationToken) =>
{
    var configuration = LoadConfiguration(parse.GetValue<string>("--config"));
    var device = parse.GetValue(deviceOption) ?? configuration["Agent:DeviceId"] ?? string.Empty;
    var dataDir = parse.GetValue(dataDirOption) ?? configuration["Agent:DataDir"] ?? new Grid.Edge.Agent.Configuration.AgentOptions().DataDir;
    return PairCommand.RunAsync(parse.GetValue(hubArgument)!, parse.GetValue(codeArgument)!, device, dataDir, Console.Out, Console.Error, cancellationToken);
});
root.Subcommands.Add(pair);

try
{
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (SettingsFileException e)
{
    // Every command reads the settings: a missing or broken file is one sentence, not a stack trace.
    await Console.Error.WriteLineAsync("error: " + e.Message);
    return 2;
}

static async Task<int> RunAgentAsync(ParseResult parse, CancellationToken cancellationToken)
{
    IHost host;
    try
    {
        host = AgentHost.Build(LoadConfiguration(parse.GetValue<string>("--config")));
    }
    catch (InvalidOperationException e)
    {
        await Console.Error.WriteLineAsync("error: " + e.Message);
        return 2;
    }

    using (host)
        await host.RunAsync(cancellationToken);
    return 0;
}

string ObdDataDir(ParseResult parse) =>
    parse.GetValue(obdDataDirOption) ?? LoadConfiguration(parse.GetValue<string>("--config"))["Agent:DataDir"] ?? new Grid.Edge.Agent.Configuration.AgentOptions().DataDir;

static IConfiguration LoadConfiguration(string? configFile)
{
    var builder = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true);
    configFile ??= Environment.GetEnvironmentVariable("GRID_AGENT_CONFIG");
    if (!string.IsNullOrEmpty(configFile))
    {
        if (!File.Exists(configFile))
            throw new SettingsFileException($"the settings file {configFile} does not exist; give the path of the agent's JSON settings (--config or GRID_AGENT_CONFIG)");
        builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
    }

    try
    {
        return builder.AddEnvironmentVariables("GRID_AGENT_").Build();
    }
    catch (InvalidDataException e)
    {
        throw new SettingsFileException($"the settings file {configFile} is not valid JSON: {e.InnerException?.Message ?? e.Message}");
    }
}

/// <summary>The settings file named on the command line is missing or unreadable.</summary>
internal sealed class SettingsFileException(string message) : Exception(message);
