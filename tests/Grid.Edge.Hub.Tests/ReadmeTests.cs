using Grid.Edge.Hub.Configuration;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Hub.Tests;

/// <summary>The README is the user's manual: it must name every option, metric and reason the hub has.</summary>
public class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grid.Edge.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Grid.Edge.sln not found");
    }

    [Fact]
    public void Every_option_is_documented_with_its_environment_variable_and_key()
    {
        foreach (var setting in HubSetting.All)
        {
            Assert.Contains(setting.IsFlag ? $"`{setting.Option}`" : $"`{setting.Option} <", Readme, StringComparison.Ordinal);
            Assert.Contains($"`{setting.Environment}`", Readme, StringComparison.Ordinal);
            Assert.Contains($"`Hub:{setting.Key}`", Readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_known_metric_is_documented_with_its_unit()
    {
        foreach (var metric in MetricCatalog.All)
            Assert.Contains($"| `{metric.Name}` | {(metric.Unit.Length == 0 ? "(none)" : metric.Unit)} |", Readme, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_reject_reason_is_documented()
    {
        foreach (var reason in Enum.GetValues<RejectReason>())
            Assert.Contains($"| `{reason.ToCode()}` |", Readme, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ci_script_runs_the_readme_test_command()
    {
        Assert.Contains("bash tests/run-tests.sh", Readme, StringComparison.Ordinal);
        Assert.Contains("bash tests/run-tests.sh", File.ReadAllText(Path.Combine(RepositoryRoot(), ".ci", "run")), StringComparison.Ordinal);
    }
}
