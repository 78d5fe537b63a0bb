using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Grid.Edge.Benchmarks;

/// <summary>The baselines' versions as their binaries state them, so a report names what was actually measured.</summary>
internal static partial class ServerVersion
{
    /// <summary>"mosquitto 2.0.11", from the first line of <c>mosquitto -h</c>.</summary>
    public static string Mosquitto() => "mosquitto " + Read("/usr/sbin/mosquitto", "-h", MosquittoLine());

    /// <summary>"InfluxDB 1.6.7~rc0", from <c>influxd version</c>.</summary>
    public static string Influx() => "InfluxDB " + Read("/usr/bin/influxd", "version", InfluxLine());

    /// <summary>"nats-server 2.9.10", from <c>nats-server --version</c>.</summary>
    public static string Nats() => "nats-server " + Read(NatsServerUnderTest.Program, "--version", NatsLine());

    private static string Read(string program, string argument, Regex pattern)
    {
        var start = new ProcessStartInfo(program, argument) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + program);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd() + error.Result;
        process.WaitForExit();
        var match = pattern.Match(output);
        return match.Success ? match.Groups["version"].Value : throw new InvalidOperationException($"cannot read the version of {program} from: {output.Trim()}");
    }

    [GeneratedRegex(@"mosquitto version (?<version>\S+)")]
    private static partial Regex MosquittoLine();

    [GeneratedRegex(@"InfluxDB v(?<version>\S+)")]
    private static partial Regex InfluxLine();

    [GeneratedRegex(@"nats-server: v(?<version>\S+)")]
    private static partial Regex NatsLine();
}
