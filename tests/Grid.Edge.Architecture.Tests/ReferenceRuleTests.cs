namespace Grid.Edge.Architecture.Tests;

public sealed class ReferenceRuleTests
{
    private static readonly ProjectGraph Tree = ProjectGraph.Read(RepositoryRoot());

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Grid.Edge.sln")))
                return folder.FullName;
        }

        throw new InvalidOperationException("Grid.Edge.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The tree with one more reference, as a change could add it.</summary>
    private static ProjectGraph With(string from, string? project = null, string? package = null)
    {
        var projects = Tree.Projects.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var file = projects[from];
        projects[from] = file with
        {
            Projects = project is null ? file.Projects : [.. file.Projects, project],
            Packages = package is null ? file.Packages : [.. file.Packages, package],
        };
        return new ProjectGraph(projects);
    }

    [Fact]
    public void The_tree_keeps_its_reference_rules()
    {
        // The whole tree was read: an empty or partial read would pass any rule.
        Assert.Superset(
            new HashSet<string>(["Grid.Edge.Hub", "Grid.Edge.Protocol", "Grid.Edge.Hub.Storage", "Grid.Edge.Hub.Intelligence", "Grid.Edge.Hub.Replication", "Grid.Edge.Agent", "Grid.Edge.Devices", "Grid.Edge.Obd", "Grid.Edge.Firmware.Core", "Grid.Edge.Hub.Tests", "Grid.Edge.Demo", "Grid.Edge.Simulation", "Grid.Edge.Testing", "Grid.Edge.Hub.Testing"]),
            Tree.Projects.Keys.ToHashSet());
        Assert.True(Tree.Projects["Grid.Edge.Hub"].IsExecutable);
        Assert.True(Tree.Projects["Grid.Edge.Agent"].IsExecutable);
        Assert.True(Tree.Projects["Grid.Edge.Demo"].IsExecutable);
        Assert.Contains("Grid.Edge.Agent", Tree.ReferencesOf("Grid.Edge.Demo"));
        Assert.True(Tree.Projects["Grid.Edge.Hub.Storage"].IsLibrary);
        Assert.Contains("Grid.Edge.Protocol", Tree.ReferencesOf("Grid.Edge.Hub.Replication")); // through Storage

        Assert.Empty(ReferenceRules.Violations(Tree));
    }

    [Theory]
    [InlineData("Grid.Edge.Hub.Storage", "Grid.Edge.Hub", null, "the library Grid.Edge.Hub.Storage references the executable Grid.Edge.Hub")]
    [InlineData("Grid.Edge.Protocol", "Grid.Edge.Hub", null, "Grid.Edge.Protocol references the hub")]
    [InlineData("Grid.Edge.Devices", "Grid.Edge.Agent", null, "the library Grid.Edge.Devices references the executable Grid.Edge.Agent")]
    [InlineData("Grid.Edge.Hub", "Grid.Edge.Agent", null, "the executable Grid.Edge.Hub references the executable Grid.Edge.Agent")]
    [InlineData("Grid.Edge.Agent", "Grid.Edge.Simulation", null, "the product project Grid.Edge.Agent references Grid.Edge.Simulation")]
    [InlineData("Grid.Edge.Obd", "Grid.Edge.Hub.Tests", null, "the product project Grid.Edge.Obd references Grid.Edge.Hub.Tests")]
    [InlineData("Grid.Edge.Hub.Storage", "Grid.Edge.Testing", null, "the product project Grid.Edge.Hub.Storage references Grid.Edge.Testing")]
    [InlineData("Grid.Edge.Firmware.Core", "Grid.Edge.Protocol", null, "the firmware core references the project Grid.Edge.Protocol")]
    [InlineData("Grid.Edge.Firmware.Core", null, "System.Text.Json", "the firmware core references the package System.Text.Json")]
    public void Each_rule_catches_a_reference_that_breaks_it(string from, string? project, string? package, string expected)
    {
        var violations = ReferenceRules.Violations(With(from, project, package));
        Assert.Contains(violations, v => v.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_rule_broken_through_another_project_is_caught_too()
    {
        // Intelligence -> Replication -> Storage -> Hub: the hub reached through two projects.
        var graph = With("Grid.Edge.Hub.Storage", project: "Grid.Edge.Hub");
        var projects = graph.Projects.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        projects["Grid.Edge.Hub.Intelligence"] = projects["Grid.Edge.Hub.Intelligence"] with { Projects = ["Grid.Edge.Hub.Replication"] };
        Assert.Contains("Grid.Edge.Hub.Intelligence references the hub", ReferenceRules.Violations(new ProjectGraph(projects)));
    }
}
