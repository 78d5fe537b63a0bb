namespace Grid.Edge.Firmware.Core.Tests;

public sealed class NanoFrameworkSubsetTests
{
    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Grid.Edge.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Grid.Edge.sln not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> Sources(string project)
    {
        var core = Path.Combine(RepositoryRoot(), "firmware", project);
        var separator = Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal) && !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
    }

    [Theory]
    [InlineData("Grid.Edge.Firmware.Core", 15)]
    [InlineData("Grid.Edge.Firmware", 9)]
    public void The_firmware_uses_only_what_nanoFramework_has(string project, int expectedFiles)
    {
        var sources = Sources(project).ToList();
        Assert.True(sources.Count >= expectedFiles, $"expected the sources of {project}, found {sources.Count}");
        var root = RepositoryRoot();
        var problems = sources.SelectMany(f => NanoFrameworkSubsetGuard.Check(Path.GetRelativePath(root, f), File.ReadAllText(f))).ToList();
        Assert.True(problems.Count == 0, "constructs nanoFramework lacks:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_shell_application_links_the_core_sources()
    {
        var nfproj = File.ReadAllText(Path.Combine(RepositoryRoot(), "firmware", "Grid.Edge.Firmware", "Grid.Edge.Firmware.nfproj"));
        Assert.Contains(@"..\Grid.Edge.Firmware.Core\**\*.cs", nfproj, StringComparison.Ordinal);
        Assert.Contains(@"..\Grid.Edge.Firmware.Core\obj\**", nfproj, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("using System.Linq; class A { }", "linq")]
    [InlineData("class A { int[] M(int[] x) => (from i in x select i).ToArray(); }", "linq")]
    [InlineData("class A { async void M() { await X(); } }", "async")]
    [InlineData("class A { System.Threading.Tasks.Task M() => null; }", "task")]
    [InlineData("class A { object M() => System.Text.Json.JsonSerializer.Serialize(1); }", "json")]
    [InlineData("record R(int X);", "record")]
    [InlineData("class A { void M() { System.Span<byte> s = stackalloc byte[4]; } }", "span")]
    [InlineData("class A { System.Collections.Generic.List<int> L; }", "generic")]
    [InlineData("class A<T> { }", "generic")]
    [InlineData("class A { string M(int x) => $\"{x}\"; }", "interpolation")]
    [InlineData("class A { (int, int) M() => (1, 2); }", "tuple")]
    [InlineData("class A { decimal D; }", "decimal")]
    [InlineData("class A { dynamic D; }", "dynamic")]
    [InlineData("class A { int X { get; init; } }", "init")]
    [InlineData("class A { required int X; }", "init")]
    [InlineData("ref struct S { }", "byref-like")]
    [InlineData("class A { void M(in int x) { } }", "byref-like")]
    [InlineData("class A { unsafe void M(int* p) { } }", "unsafe")]
    [InlineData("class A { System.Collections.IEnumerable M() { yield return 1; } }", "iterator")]
    [InlineData("interface I { void M() { } }", "default-interface-member")]
    [InlineData("class A { int M(int[] a) => a[^1]; }", "index-range")]
    [InlineData("class A { int[] M() => [1, 2]; }", "collection-expression")]
    [InlineData("class A { int M(int x) => System.Math.Clamp(x, 0, 1); }", "missing-api")]
    [InlineData("class A { long M() => System.DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(); }", "missing-api")]
    public void Each_forbidden_construct_is_reported_with_its_line_and_reason(string source, string rule)
    {
        var problems = NanoFrameworkSubsetGuard.Check("Sample.cs", "\n" + source);
        Assert.Contains(problems, p => p.StartsWith("Sample.cs:2: ", StringComparison.Ordinal) && p.Contains(NanoFrameworkSubsetGuard.Rules[rule], StringComparison.Ordinal));
    }

    [Fact]
    public void Plain_embedded_csharp_passes()
    {
        const string Source = """
            using System;
            namespace N;
            public sealed class A : IDisposable
            {
                private readonly byte[] _buffer = new byte[16];
                private readonly object _sync = new object();
                public int Count { get; private set; }
                public void Dispose() { }
                public int Sum(int[] values)
                {
                    var total = 0;
                    lock (_sync)
                        foreach (var v in values)
                            total += v;
                    Array.Copy(_buffer, 0, _buffer, 1, 2);
                    return total > 0 ? total : Math.Abs(total);
                }
            }
            """;
        Assert.Empty(NanoFrameworkSubsetGuard.Check("Plain.cs", Source));
    }
}
