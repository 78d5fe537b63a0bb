using Grid.Edge.Hub.Security;

namespace Grid.Edge.Hub.Configuration;

/// <summary>A setting the user gave that the hub cannot use; the message says what to change.</summary>
public sealed class HubConfigurationException : Exception
{
    public HubConfigurationException()
    {
    }

    public HubConfigurationException(string message)
        : base(message)
    {
    }

    public HubConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Layers the hub's settings: built-in defaults, appsettings.json beside the program, an optional --config file,
/// GRID_* environment variables, then command-line options (later layers win).
/// </summary>
internal static class HubConfiguration
{
    public const string ConfigFileEnvironment = "GRID_CONFIG";

    public static IConfigurationRoot Load(IReadOnlyDictionary<string, string?> commandLine, string? configFile, IDictionary<string, string?>? environment = null, IReadOnlyDictionary<string, string?>? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var builder = new ConfigurationBuilder();
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        if (defaults is not null)
            builder.AddInMemoryCollection(defaults);
        var env = environment ?? ReadEnvironment();
        configFile ??= env.TryGetValue(ConfigFileEnvironment, out var fromEnv) ? fromEnv : null;
        if (!string.IsNullOrWhiteSpace(configFile))
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
                throw new HubConfigurationException($"Config file '{path}' does not exist.");
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        var fromEnvironment = new Dictionary<string, string?>();
        foreach (var setting in HubSetting.All)
        {
            if (env.TryGetValue(setting.Environment, out var value) && !string.IsNullOrEmpty(value))
                fromEnvironment[$"{HubOptions.Section}:{setting.Key}"] = value;
        }

        builder.AddInMemoryCollection(fromEnvironment);
        builder.AddInMemoryCollection(commandLine);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException ex)
        {
            throw new HubConfigurationException($"Config file is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Binds and validates the <c>Hub</c> section.</summary>
    public static HubOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new HubOptions();
        try
        {
            configuration.GetSection(HubOptions.Section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new HubConfigurationException($"A hub setting has the wrong type: {ex.Message}", ex);
        }

        var problems = options.Validate();
        if (problems.Count > 0)
            throw new HubConfigurationException(string.Join(Environment.NewLine, problems));
        options.DataDir = Path.GetFullPath(options.DataDir);
        if (options.UsersFile is not null)
            options.UsersFile = Path.GetFullPath(options.UsersFile);
        return options;
    }

    /// <summary>
    /// Creates the data folder when it is missing and proves that the hub can write in it, so that an unusable
    /// <c>--data-dir</c> (a file, a folder without write permission, a read-only card) stops the hub with a sentence
    /// rather than a stack trace from whichever part touches it first.
    /// </summary>
    public static void PrepareDataDirectory(string dataDir)
    {
        ArgumentNullException.ThrowIfNull(dataDir);
        if (File.Exists(dataDir))
            throw new HubConfigurationException($"The data directory {dataDir} is a file, not a folder; give --data-dir (or GRID_DATA_DIR) a folder, which the hub creates if it is missing.");
        var probe = Path.Combine(dataDir, $".grid-write-test-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(dataDir);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HubConfigurationException($"The hub cannot write in its data directory {dataDir} ({e.Message}); choose another with --data-dir (or GRID_DATA_DIR), or give the hub's user write access to it.", e);
        }
    }

    /// <summary>Users given in configuration as <c>"Hub": { "Users": { "name": "$pbkdf2-sha256$..." } }</c>.</summary>
    public static IReadOnlyDictionary<string, string> ConfiguredUsers(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var child in configuration.GetSection($"{HubOptions.Section}:Users").GetChildren())
        {
            if (!UsersFile.IsValidUserName(child.Key))
                throw new HubConfigurationException($"Configured MQTT user name '{child.Key}' is not valid (1-64 of A-Z a-z 0-9 _ . -).");
            users[child.Key] = child.Value ?? string.Empty;
        }

        return users;
    }

    /// <summary>
    /// Retention: rules from <c>"Hub": { "RetentionRules": [ { "Pattern": "demo-*/*", "RawDays": 7, "MinuteDays": 30, "HourDays": 0 } ] }</c>
    /// (first match wins; 0 keeps forever), then the global defaults.
    /// </summary>
    public static IReadOnlyList<Grid.Edge.Hub.Storage.Chunks.RetentionRule> RetentionRules(IConfiguration configuration, HubOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        static TimeSpan? Days(int days) => days > 0 ? TimeSpan.FromDays(days) : null;
        var rules = new List<Grid.Edge.Hub.Storage.Chunks.RetentionRule>();
        foreach (var child in configuration.GetSection($"{HubOptions.Section}:RetentionRules").GetChildren())
        {
            var pattern = child["Pattern"];
            if (string.IsNullOrWhiteSpace(pattern))
                throw new HubConfigurationException($"Retention rule {child.Key} has no Pattern (e.g. \"demo-*/*\").");
            int Read(string name, int fallback) =>
                child[name] is { } text ? int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= 0 ? value
                    : throw new HubConfigurationException($"Retention rule '{pattern}': {name} must be a whole number of days (0 keeps forever).") : fallback;
            rules.Add(new(pattern, Days(Read("RawDays", options.RetentionRawDays)), Days(Read("MinuteDays", options.RetentionMinuteDays)), Days(Read("HourDays", options.RetentionHourDays))));
        }

        rules.Add(new("*", Days(options.RetentionRawDays), Days(options.RetentionMinuteDays), Days(options.RetentionHourDays)));
        return rules;
    }

    /// <summary>
    /// Weather stations' altitudes for sea-level pressure and the forecast:
    /// <c>"Hub": { "Stations": { "roof-station": { "AltitudeM": 540 } } }</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, double> StationAltitudes(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var stations = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var child in configuration.GetSection($"{HubOptions.Section}:Stations").GetChildren())
        {
            if (!UsersFile.IsValidUserName(child.Key))
                throw new HubConfigurationException($"Station '{child.Key}' is not a valid device id (1-64 of A-Z a-z 0-9 _ . -).");
            if (!double.TryParse(child["AltitudeM"], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var altitude) || altitude is < -500 or > 9000)
                throw new HubConfigurationException($"Station '{child.Key}': AltitudeM must be the station's height above sea level in metres (-500 to 9000).");
            stations[child.Key] = altitude;
        }

        return stations;
    }

    private static Dictionary<string, string?> ReadEnvironment()
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            values[(string)entry.Key] = entry.Value as string;
        return values;
    }
}
