using System.Globalization;
using Grid.Edge.Hub.Configuration;

namespace Grid.Edge.Hub.Exports;

/// <summary>Where an export writes.</summary>
internal enum ExportKind
{
    /// <summary>InfluxDB 1.x: <c>POST /write?db=&amp;rp=&amp;precision=ms</c>.</summary>
    Influx1,

    /// <summary>The InfluxDB 2.x write API (also VictoriaMetrics and InfluxDB 3): org, bucket and token.</summary>
    Influx2,
}

/// <summary>
/// One export as configured under <c>Hub:Exports</c>. Credentials stay here: <see cref="Target"/> names the server
/// and database without them, and nothing else of this record is logged or shown.
/// </summary>
internal sealed record ExportSettings
{
    public const string Section = "Exports";

    public required string Name { get; init; }

    public required ExportKind Kind { get; init; }

    public required Uri Url { get; init; }

    /// <summary>influx1: the database, and optionally its retention policy and credentials.</summary>
    public string? Database { get; init; }

    public string? RetentionPolicy { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>influx2: the organisation, bucket and token.</summary>
    public string? Org { get; init; }

    public string? Bucket { get; init; }

    public string? Token { get; init; }

    /// <summary>Series id patterns (<c>*</c> matches anything); a series matching any of them is exported.</summary>
    public IReadOnlyList<string> Series { get; init; } = ["*"];

    /// <summary>Most points in one write.</summary>
    public int BatchPoints { get; init; } = 5000;

    /// <summary>Most points held for the target while it is slow or away; beyond, they are read again from the store later.</summary>
    public int MaxQueuedPoints { get; init; } = 200_000;

    public int TimeoutSeconds { get; init; } = 30;

    /// <summary>The kind as settings spell it.</summary>
    public string KindName => Kind == ExportKind.Influx1 ? "influx1" : "influx2";

    /// <summary>The server and where in it, never the credentials.</summary>
    public string Target => Kind == ExportKind.Influx1
        ? $"{Url.GetLeftPart(UriPartial.Path).TrimEnd('/')} db={Database}{(RetentionPolicy is null ? "" : " rp=" + RetentionPolicy)}"
        : $"{Url.GetLeftPart(UriPartial.Path).TrimEnd('/')} org={Org} bucket={Bucket}";

    /// <summary>Names the export and its target; never the credentials (a record would print them all).</summary>
    public override string ToString() => $"{Name} ({KindName} {Target})";

    /// <summary>
    /// The exports of <c>"Hub": { "Exports": [ { "Name": "influx", "Kind": "influx1", "Url": "http://nas:8086", "Database": "grid" } ] }</c>;
    /// every problem is a sentence that says what to change.
    /// </summary>
    public static IReadOnlyList<ExportSettings> Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var exports = new List<ExportSettings>();
        var problems = new List<string>();
        foreach (var entry in configuration.GetSection($"{HubOptions.Section}:{Section}").GetChildren())
        {
            var export = ReadOne(entry, problems);
            if (export is null)
                continue;
            if (exports.Any(e => string.Equals(e.Name, export.Name, StringComparison.OrdinalIgnoreCase)))
                problems.Add($"Two exports are named '{export.Name}': give each export its own Name.");
            else
                exports.Add(export);
        }

        return problems.Count > 0 ? throw new HubConfigurationException(string.Join(Environment.NewLine, problems)) : exports;
    }

    private static ExportSettings? ReadOne(IConfigurationSection entry, List<string> problems)
    {
        var name = entry["Name"];
        var label = $"Export {entry.Key}" + (string.IsNullOrWhiteSpace(name) ? "" : $" ('{name}')");
        var before = problems.Count;
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            problems.Add($"{label}: Name must be 1-64 of A-Z a-z 0-9 _ . - (it names the export in the API and in 'export backfill').");
        ExportKind? kind = entry["Kind"]?.Trim().ToLowerInvariant() switch
        {
            "influx1" => ExportKind.Influx1,
            "influx2" => ExportKind.Influx2,
            _ => null,
        };
        if (kind is null)
            problems.Add($"{label}: Kind '{entry["Kind"]}' is not known; use influx1 (InfluxDB 1.x /write) or influx2 (the InfluxDB 2.x write API, also VictoriaMetrics).");
        if (!Uri.TryCreate(entry["Url"], UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            problems.Add($"{label}: Url '{entry["Url"]}' must be the server's http:// or https:// address (e.g. http://nas.local:8086).");
        else if (!string.IsNullOrEmpty(url.UserInfo))
            problems.Add($"{label}: put the credentials in Username and Password (or Token), not in the Url.");
        string? Text(string key) => string.IsNullOrWhiteSpace(entry[key]) ? null : entry[key]!.Trim();
        if (kind == ExportKind.Influx1)
        {
            if (Text("Database") is null)
                problems.Add($"{label}: Database is missing (the InfluxDB database to write to; create it with CREATE DATABASE <name>).");
            if ((Text("Username") is null) != (Text("Password") is null))
                problems.Add($"{label}: give both Username and Password, or neither.");
        }
        else if (kind == ExportKind.Influx2)
        {
            if (Text("Org") is null || Text("Bucket") is null)
                problems.Add($"{label}: Org and Bucket are needed for influx2 (VictoriaMetrics ignores them, but the API wants them).");
        }

        int Number(string key, int fallback, int min, int max)
        {
            if (Text(key) is not { } text)
                return fallback;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
                return value;
            problems.Add($"{label}: {key} must be a whole number from {min} to {max}.");
            return fallback;
        }

        var batch = Number("BatchPoints", 5000, 1, 100_000);
        var queue = Number("MaxQueuedPoints", 200_000, 1000, 10_000_000);
        var timeout = Number("TimeoutSeconds", 30, 1, 600);
        var series = SeriesPatterns(entry.GetSection("Series"));
        if (series.Count == 0 || series.Any(string.IsNullOrWhiteSpace))
            problems.Add($"{label}: Series must list series id patterns such as \"*\" or \"roof/*\" (or be left out for every series).");
        if (problems.Count > before)
            return null;
        return new ExportSettings
        {
            Name = name!,
            Kind = kind!.Value,
            Url = url!,
            Database = Text("Database"),
            RetentionPolicy = Text("RetentionPolicy"),
            Username = Text("Username"),
            Password = entry["Password"],
            Org = Text("Org"),
            Bucket = Text("Bucket"),
            Token = entry["Token"],
            Series = series,
            BatchPoints = batch,
            MaxQueuedPoints = queue,
            TimeoutSeconds = timeout,
        };
    }

    // A list ("Series": ["a/*", "b/*"]) or one comma-separated string ("Series": "a/*,b/*").
    private static List<string> SeriesPatterns(IConfigurationSection section)
    {
        if (section.Value is { } single)
            return [.. single.Split(',', StringSplitOptions.TrimEntries)];
        var items = section.GetChildren().Select(c => c.Value?.Trim() ?? "").ToList();
        return items.Count == 0 && !section.Exists() ? ["*"] : items;
    }
}
