namespace Grid.Edge.Architecture.Tests;

/// <summary>Which project may reference which (docs/architecture.md, "Allowed references").</summary>
internal static class ReferenceRules
{
    public const string Hub = "Grid.Edge.Hub";
    public const string FirmwareCore = "Grid.Edge.Firmware.Core";

    /// <summary>The one executable that composes others: the hub and the agent together on simulated hardware.</summary>
    public const string Demo = "Grid.Edge.Demo";

    /// <summary>Simulated hardware: for the demo and the tests, never inside a product.</summary>
    public const string Simulation = "Grid.Edge.Simulation";

    /// <summary>The hub's libraries: what they decide must hold without the host that composes them.</summary>
    public static readonly string[] HubLibraries = ["Grid.Edge.Protocol", "Grid.Edge.Hub.Storage", "Grid.Edge.Hub.Intelligence", "Grid.Edge.Hub.Replication"];

    /// <summary>The only package the firmware core may use: nanoFramework's base library, what a microcontroller has.</summary>
    public static readonly string[] FirmwareCorePackages = ["nanoFramework.CoreLibrary"];

    /// <summary>Every broken rule, one line each naming the projects; empty when the tree keeps them all.</summary>
    public static IReadOnlyList<string> Violations(ProjectGraph graph)
    {
        var violations = new List<string>();
        foreach (var project in graph.Projects.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var references = graph.ReferencesOf(project.Name);
            if (project.IsLibrary)
            {
                foreach (var reference in references.Where(r => graph.Projects.TryGetValue(r, out var target) && target.IsExecutable).Order(StringComparer.Ordinal))
                    violations.Add($"the library {project.Name} references the executable {reference}");
            }

            if (project.IsExecutable && project.IsProduct && project.Name != Demo)
            {
                foreach (var reference in references.Where(r => graph.Projects.TryGetValue(r, out var target) && target.IsExecutable).Order(StringComparer.Ordinal))
                    violations.Add($"the executable {project.Name} references the executable {reference}; only the demo composes executables");
            }

            if (project.IsProduct && project.Name is not (Demo or Simulation) && references.Contains(Simulation))
                violations.Add($"the product project {project.Name} references {Simulation}; simulators belong to the demo and the tests");

            if (HubLibraries.Contains(project.Name) && references.Contains(Hub))
                violations.Add($"{project.Name} references the hub");

            if (project.IsProduct)
            {
                foreach (var reference in references.Where(r => graph.Projects.TryGetValue(r, out var target) && !target.IsProduct).Order(StringComparer.Ordinal))
                    violations.Add($"the product project {project.Name} references {reference}, which is not shipped (tests, benchmarks)");
            }

            if (project.Name == FirmwareCore)
            {
                foreach (var reference in project.Projects)
                    violations.Add($"the firmware core references the project {reference}; it must compile on a microcontroller with nothing else");
                foreach (var package in project.Packages.Where(p => !FirmwareCorePackages.Contains(p, StringComparer.Ordinal)))
                    violations.Add($"the firmware core references the package {package}; only {string.Join(", ", FirmwareCorePackages)} exists on a microcontroller");
            }
        }

        return violations;
    }
}
