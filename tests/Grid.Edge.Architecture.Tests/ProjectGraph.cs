using System.Xml.Linq;

namespace Grid.Edge.Architecture.Tests;

/// <summary>One project of the tree as its project file declares it.</summary>
/// <param name="Name">The project file's name without extension (the assembly name here).</param>
/// <param name="Folder">Its folder relative to the repository, with forward slashes (<c>hub/Grid.Edge.Hub</c>).</param>
internal sealed record ProjectFile(string Name, string Folder, bool IsExecutable, bool IsTest, IReadOnlyList<string> Projects, IReadOnlyList<string> Packages)
{
    /// <summary>Shipped to users: under <c>hub/</c>, <c>edge/</c> or <c>firmware/</c>.</summary>
    public bool IsProduct => Folder.StartsWith("hub/", StringComparison.Ordinal) || Folder.StartsWith("edge/", StringComparison.Ordinal) || Folder.StartsWith("firmware/", StringComparison.Ordinal);

    public bool IsLibrary => IsProduct && !IsExecutable;
}

/// <summary>The projects of the repository and their references, read from the project files.</summary>
internal sealed class ProjectGraph(IReadOnlyDictionary<string, ProjectFile> projects)
{
    public IReadOnlyDictionary<string, ProjectFile> Projects => projects;

    /// <summary>Every project under the repository's root (bin and obj folders left out).</summary>
    public static ProjectGraph Read(string root)
    {
        var found = new Dictionary<string, ProjectFile>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("node_modules", StringComparison.Ordinal))
                continue;
            var xml = XDocument.Load(file);
            var folder = Path.GetDirectoryName(relative)!.Replace('\\', '/');
            var name = Path.GetFileNameWithoutExtension(file);
            var outputType = xml.Descendants("OutputType").Select(e => e.Value.Trim()).LastOrDefault() ?? "";
            var isTest = folder.StartsWith("tests/", StringComparison.Ordinal);
            found[name] = new ProjectFile(
                name,
                folder,
                IsExecutable: outputType.Equals("Exe", StringComparison.OrdinalIgnoreCase) || outputType.Equals("WinExe", StringComparison.OrdinalIgnoreCase),
                IsTest: isTest,
                Projects: [.. xml.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))],
                Packages: [.. xml.Descendants("PackageReference").Select(r => r.Attribute("Include")?.Value ?? r.Attribute("Update")?.Value ?? "")]);
        }

        return new ProjectGraph(found);
    }

    /// <summary>Every project <paramref name="name"/> references, directly or through others.</summary>
    public IReadOnlySet<string> ReferencesOf(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var next = new Stack<string>(projects[name].Projects);
        while (next.TryPop(out var project))
        {
            if (seen.Add(project) && projects.TryGetValue(project, out var file))
            {
                foreach (var reference in file.Projects)
                    next.Push(reference);
            }
        }

        return seen;
    }
}
