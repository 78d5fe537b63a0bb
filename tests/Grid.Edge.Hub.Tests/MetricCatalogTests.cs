using System.Text.RegularExpressions;
using Grid.Edge.Firmware.Core.Station;
using Grid.Edge.Hub.Derived;
using Grid.Edge.Hub.Intelligence.Alerts;
using Grid.Edge.Hub.Vehicles;
using Grid.Edge.Obd.Pids;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// One metric catalogue: every place that names a metric (the PID table, the firmware, the alert rules, the derived
/// and vehicle inputs, the hub's own derived outputs and the dashboards' labels) uses a catalogue name, and where it
/// states a unit, one the catalogue takes for that metric.
/// </summary>
public sealed partial class MetricCatalogTests
{
    [Fact]
    public void The_pid_table_names_catalogue_metrics_in_units_the_catalogue_takes() =>
        Assert.Empty(PidTable.All.Select(p => Problem(p.Metric, p.Unit, $"PID 0x{p.Pid:X2}")).OfType<string>());

    [Fact]
    public void The_firmware_sends_catalogue_metrics()
    {
        var table = new StationMetrics().Table;
        var names = Enumerable.Range(0, table.Count).Select(i => System.Text.Encoding.ASCII.GetString(table.Name(i)));
        Assert.Empty(names.Select(n => Problem(n, null, "the firmware")).OfType<string>());
    }

    [Fact]
    public void Alert_rules_derived_and_vehicle_inputs_name_catalogue_metrics()
    {
        var problems = DefaultAlertRules.All
            .SelectMany(rule => rule.Requires.Select(name => Problem(RateOf(name), null, $"alert rule {rule.Id}")))
            .Concat(DerivedWeather.Inputs.Select(name => Problem(name, null, "derived weather's inputs")))
            .Concat(VehicleTracker.Inputs.Select(name => Problem(name, null, "the vehicle tracker's inputs")))
            .OfType<string>();
        Assert.Empty(problems);
    }

    [Fact]
    public void What_the_hub_derives_is_in_the_catalogue_in_the_unit_it_writes()
    {
        // The derived writers name their outputs in code: read them there, so that a new one cannot be left out.
        var source = File.ReadAllText(Path.Combine(RepositoryRoot(), "hub", "Grid.Edge.Hub", "Derived", "DerivedWeather.cs"));
        var outputs = DerivedOutput().Matches(source).Select(m => (Metric: m.Groups["metric"].Value, Unit: m.Groups["unit"].Value)).Distinct().ToList();
        Assert.Contains(("dew_point", "degC"), outputs);
        Assert.Empty(outputs.Select(o => Problem(o.Metric, o.Unit, "derived weather")).OfType<string>());
    }

    [Fact]
    public void Dashboard_labels_name_catalogue_metrics()
    {
        var script = File.ReadAllText(Path.Combine(RepositoryRoot(), "hub", "Grid.Edge.Hub", "Dashboard", "web", "common.js"));
        var labels = Labels().Match(script);
        Assert.True(labels.Success, "common.js has no LABELS table");
        var names = LabelKey().Matches(labels.Groups["body"].Value).Select(m => m.Groups["name"].Value).ToList();
        Assert.Contains("temperature", names);
        Assert.Empty(names.Select(n => Problem(n, null, "the dashboards' labels")).OfType<string>());
    }

    /// <summary>A rule may ask for a metric's rate of change: <c>rate:&lt;metric&gt;:&lt;minutes&gt;</c>.</summary>
    private static string RateOf(string name) => name.StartsWith("rate:", StringComparison.Ordinal) ? name.Split(':')[1] : name;

    private static string? Problem(string metric, string? unit, string where) =>
        !MetricCatalog.TryGet(metric, out var definition) ? $"{where}: '{metric}' is not in the metric catalogue"
        : unit is not null && !definition.AcceptedUnits.Contains(unit, StringComparer.Ordinal) ? $"{where}: '{metric}' in {unit}, which the hub does not convert to the catalogue's {definition.Unit}"
        : null;

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grid.Edge.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Grid.Edge.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"Add\(""(?<metric>[a-z0-9_]+)"",[^;]*?,\s*""(?<unit>[^""]*)""\)")]
    private static partial Regex DerivedOutput();

    [GeneratedRegex(@"const LABELS = \{(?<body>[^}]*)\}")]
    private static partial Regex Labels();

    [GeneratedRegex(@"(?<name>[a-z0-9_]+):\s*""")]
    private static partial Regex LabelKey();
}
