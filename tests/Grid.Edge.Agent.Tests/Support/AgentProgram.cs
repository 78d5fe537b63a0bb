using System.Diagnostics;

namespace Grid.Edge.Agent.Tests.Support;

/// <summary>The built grid-agent, run as a child process.</summary>
internal static class AgentProgram
{
    public static string Dll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Grid.Edge.sln")))
            root = root.Parent;
        var dll = Path.Combine(root!.FullName, "edge", "Grid.Edge.Agent", "bin", configuration, "net10.0", "grid-agent.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The agent is not built: {dll} is missing.");
    }

    /// <summary>Starts the agent with settings as GRID_AGENT_ environment variables ("Agent:DeviceId" and so on).</summary>
    public static Process Start(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll());
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in settings)
            start.Environment["GRID_AGENT_" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return Process.Start(start) ?? throw new InvalidOperationException("cannot start the agent");
    }
}
