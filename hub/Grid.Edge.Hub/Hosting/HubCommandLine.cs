using System.CommandLine;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Security.Login;

namespace Grid.Edge.Hub.Hosting;

/// <summary>
/// The hub's command line, shared by the executables that run a hub (the hub itself and the demo): every setting
/// as an option, the extra config file, running until stopped with the ready line, and errors as sentences.
/// </summary>
public sealed class HubCommandLine
{
    private readonly Dictionary<HubSetting, Option> _settings;
    private readonly Option<string> _config = new("--config")
    {
        Description = $"Extra JSON settings file (same shape as appsettings.json). Also ${HubConfiguration.ConfigFileEnvironment}.",
        HelpName = "file",
        Recursive = true,
    };

    /// <summary>A root command with every hub setting as an option.</summary>
    public HubCommandLine(string description)
    {
        _settings = HubSetting.All.ToDictionary(
            s => s,
            s => s.IsFlag ? (Option)new Option<bool>(s.Option) { Description = s.Description, Recursive = true }
                : s.IsList ? new Option<string[]>(s.Option) { Description = s.Description, HelpName = s.HelpName, Recursive = true }
                : new Option<string>(s.Option) { Description = s.Description, HelpName = s.HelpName, Recursive = true });
        Root = new RootCommand(description);
        foreach (var option in _settings.Values)
            Root.Options.Add(option);
        Root.Options.Add(_config);
    }

    public RootCommand Root { get; }

    /// <summary>
    /// The settings: appsettings.json, then <paramref name="defaults"/> (what an executable changes of the hub's
    /// defaults), the config file, GRID_* variables and the options, each winning over the ones before.
    /// </summary>
    public IConfigurationRoot Configuration(ParseResult parse, IReadOnlyDictionary<string, string?>? defaults = null)
    {
        var commandLine = new Dictionary<string, string?>();
        foreach (var (setting, option) in _settings)
        {
            var value = option switch
            {
                Option<bool> flag => parse.GetValue(flag) ? "true" : null,
                Option<string> text => parse.GetValue(text),
                Option<string[]> list => parse.GetValue(list) is { Length: > 0 } values ? string.Join(',', values) : null,
                _ => null,
            };
            if (value is not null)
                commandLine[$"{HubOptions.Section}:{setting.Key}"] = value;
        }

        return HubConfiguration.Load(commandLine, parse.GetValue(_config), defaults: defaults);
    }

    public HubOptions Options(ParseResult parse) => HubConfiguration.Bind(Configuration(parse));

    /// <summary>Parses and runs; a bad setting or damaged file is one sentence on standard error and exit code 2.</summary>
    public async Task<int> InvokeAsync(string[] args)
    {
        try
        {
            // The host handles SIGTERM/SIGINT itself (graceful shutdown); the parser must not end the process first.
            return await Root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is HubConfigurationException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return 2;
        }
    }

    /// <summary>
    /// Runs a hub with <paramref name="configuration"/> until it is stopped: prints the ready line, and returns the exit
    /// code (1: a port or the data folder could not be used; 3: a service failed and stopped the hub).
    /// </summary>
    /// <param name="services">Adds services to the hub before it is built (the demo's devices).</param>
    public static async Task<int> RunAsync(IConfiguration configuration, Action<IServiceCollection>? services = null)
    {
        var options = HubConfiguration.Bind(configuration);
        await using var app = HubHost.Build(configuration, replace: services);
        try
        {
            await app.StartAsync();
        }
        catch (IOException ex) when (ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message} Another program (a second hub, or Mosquitto) uses the port: stop it or choose another with --mqtt-port / --http-port / --grid-port.");
            return 1;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
        {
            await Console.Error.WriteLineAsync($"error: cannot open the data directory {options.DataDir}: {ex.Message} Choose another with --data-dir or fix its permissions.");
            return 1;
        }

        var endpoints = app.Services.GetRequiredService<HubEndpoints>();
        Console.WriteLine(endpoints.ReadyLine(app.Services.GetRequiredService<HubIdentity>().HubId, options.DataDir));
        if (!app.Services.GetRequiredService<AdminAccount>().HasAdmin)
            Console.WriteLine($"No admin password is set yet: open http://localhost:{endpoints.Http?.Port}/login on this machine, or run 'Grid.Edge.Hub admin set-password'.");
        await app.WaitForShutdownAsync();
        if (HubHost.FailedService(app.Services) is var (service, error))
        {
            await Console.Error.WriteLineAsync($"error: the hub stopped because its {service} failed ({error.GetType().Name}: {error.Message}); the log above has the details. Exit code 3: systemd restarts it.");
            return 3;
        }

        // Non-zero when a service stopped the hub on a fatal error (the store's writer failed), so systemd restarts it.
        return Environment.ExitCode;
    }
}
