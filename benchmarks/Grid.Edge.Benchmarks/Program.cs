using System.Diagnostics;
using System.Globalization;
using Grid.Edge.Benchmarks;

const string Usage = """
    Grid.Edge macro benchmarks (not tests): each prints its figures and, where there is one, the ratio to the
    baseline measured in the same run.

    Usage: dotnet run -c Release --project benchmarks/Grid.Edge.Benchmarks -- <command> [options]
      w1 [--messages N] [--runs R]   MQTT saturation (DESIGN.md W1): the hub, storing durably, against Mosquitto
                                     2.0.11 forwarding; QoS 0 and 1, 64 B. Default 200000 messages, 3 runs.
                                     Needs Debian's mosquitto and taskset: brokers on core 0, load on core 1.
      w5 [--points N] [--shape S] [--batch B] [--columns] [--runs R]
                                     Storage (DESIGN.md W5/W6): 1000 series, three value shapes, the hub (MQTT
                                     batches of B readings, default 1000, QoS 1) against InfluxDB 1.6.7 (line
                                     protocol, 5000-line batches); ingest rate, bytes per point, bytes written,
                                     memory, query latencies. Default 700 points per series; --shape
                                     constant|walk|random runs one shape only (walk includes the queries).
                                     --columns: the hub takes binary columns messages (grid/<device>/columns) of
                                     5000 points, 100 series x 50 s each, and InfluxDB the same points in the same
                                     grouping. --runs R starts both servers afresh R times per shape and
                                     shows the median run (default 1). Needs Debian's influxdb.
      agent [--points N] [--runs R] [--json]
                                     Edge agent backlog: N readings (default 100000) waiting in the durable outbox
                                     delivered to the hub as columns messages (--json: JSON batches), against a bare
                                     publisher sending the same messages from memory. Default 3 runs.
      derived [--days D] [--runs R]  Derived weather on a station's backfill (7 metrics a minute, default 7 days):
                                     storing it against storing and deriving everything from it. Default 3 runs.
      fuzz [--packets N] [--seed S]  MQTT fuzzing (the tests' seeded fuzzer, 8 connections at a time from another
                                     loopback address) against the hub while a device publishes QoS 1 readings:
                                     packets/s, connections served, the device's acks, the hub's memory growth.
                                     Default 1000000 packets, seed 1303.
      powerloss [--trials N] [--seed S]
                                     Power cuts under the store (the test suite's trial, run N times, default
                                     5000, seeds from S, default 0): the log on a simulated disk that loses
                                     what was not fsynced and tears the last write, SQLite cut at transaction
                                     granularity; counts acknowledged readings lost and stores that did not open.
      reconcile [--items N]          Range-based set reconciliation (DESIGN.md W8, no log), in process: N delta ids
                                     (default 1000000) with d in {0, 1, 100, 10000} missing; round trips, bytes
                                     and bytes over the ideal (d ids of 32 bytes).
      w7 [--series N] [--rate P] [--seconds S]
                                     Steady replication (DESIGN.md W7): two hubs in a grid, P points/s (default
                                     10000) over N series (default 1000) into one for S seconds (default 300);
                                     lag from publish to the live stream at both hubs (the local one is the
                                     baseline), wire bytes per replicated point against the store's bytes per
                                     point, the delta log's size, and the time until the second hub holds it all.
      w8 [--stored N] [--cut SPAN]... [--series S] [--no-nats]
                                     Partition and catch-up (DESIGN.md W8): two hubs in a grid hold N points in sync
                                     (default 10000000) over S series (default 1000); then for each cut (default
                                     1m,10m,1h; repeat --cut or give a list, e.g. --cut 30s,5m) the link between
                                     them is cut (a counting TCP relay resets it), both take writes spanning that
                                     much data time as fast as they can (A every series at 1 Hz, B its own devices
                                     and some of A's series at the same times) and the link is healed: time until
                                     equal digests, points/s, bytes per point written apart against the store's,
                                     each hub's peak memory; and the bytes the link costs while in sync. The anchor
                                     in the same run: the same readings through a JetStream stream mirrored between
                                     two nats-server processes (a leaf node, the mirror killed for each cut), time
                                     and bytes to catch up, side by side. Needs Debian's nats-server (--no-nats
                                     leaves the anchor out). The no-log case is 'reconcile'.
      dashboard [--runs R]           Weather page weight (bytes transferred, cold cache) and the time to fetch and
                                     draw a 7-day chart of 1-minute data. Needs Debian's chromium. Default 5 runs.

    Every command that starts a hub takes --hub <path to Grid.Edge.Hub.dll> to measure another build (for example
    an older commit's, to compare before and after a change); by default the hub built beside the benchmarks.
    """;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

var messages = 200_000;
var runs = 0;
var points = 700;
var days = 7;
string? shape = null;
var batch = 1000;
var columns = false;
var json = false;
var packets = 1_000_000L;
var trials = 5000;
int? seed = null;
var items = 1_000_000;
var series = 1000;
var rate = 10_000;
var seconds = 300;
var stored = 10_000_000L;
var cuts = new List<int>();
var nats = true;
string? hubOverride = null;
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--messages" when i + 1 < args.Length:
            messages = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--points" when i + 1 < args.Length:
            points = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--days" when i + 1 < args.Length:
            days = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--shape" when i + 1 < args.Length && args[i + 1] is "constant" or "walk" or "random":
            shape = args[++i];
            break;
        case "--batch" when i + 1 < args.Length:
            batch = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--columns":
            columns = true;
            break;
        case "--items" when i + 1 < args.Length:
            items = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--series" when i + 1 < args.Length:
            series = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--rate" when i + 1 < args.Length:
            rate = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--seconds" when i + 1 < args.Length:
            seconds = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--stored" when i + 1 < args.Length:
            stored = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--cut" when i + 1 < args.Length:
            foreach (var span in args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (ParseSpan(span) is not { } cutSeconds)
                    return Fail($"--cut takes spans of data time such as 30s, 1m, 10m or 1h, not '{span}'");
                cuts.Add(cutSeconds);
            }

            break;
        case "--no-nats":
            nats = false;
            break;
        case "--hub" when i + 1 < args.Length:
            hubOverride = Path.GetFullPath(args[++i]);
            break;
        case "--json":
            json = true;
            break;
        case "--packets" when i + 1 < args.Length:
            packets = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--trials" when i + 1 < args.Length:
            trials = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--seed" when i + 1 < args.Length:
            seed = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--runs" when i + 1 < args.Length:
            runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine($"error: unknown argument '{args[i]}'; see --help");
            return 2;
    }
}

if (args[0] == "reconcile")
    return ReconcileCommand.Run(items);

var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
var hubDll = hubOverride ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "hub", "Grid.Edge.Hub", "bin", configuration, "net10.0", "Grid.Edge.Hub.dll"));
if (!File.Exists(hubDll))
{
    Console.Error.WriteLine($"error: the hub is not built at {hubDll}");
    return 1;
}

if (Environment.ProcessorCount >= 2 && OperatingSystem.IsLinux())
    Process.GetCurrentProcess().ProcessorAffinity = 1 << 1;

if (args[0] == "powerloss")
    return await PowerLossCommand.RunAsync(trials, seed ?? 0);

return args[0] switch
{
    "w1" => await SaturationCommand.RunAsync(hubDll, messages, runs > 0 ? runs : 3),
    "dashboard" => await DashboardCommand.RunAsync(hubDll, runs > 0 ? runs : 5),
    "agent" => await AgentCommand.RunAsync(hubDll, points == 700 ? 100_000 : points, runs > 0 ? runs : 3, json),
    "w5" => await StorageCommand.RunAsync(hubDll, points, shape, batch, columns, runs > 0 ? runs : 1),
    "derived" => await DerivedCommand.RunAsync(hubDll, days, runs > 0 ? runs : 3),
    "fuzz" => await FuzzCommand.RunAsync(hubDll, packets, seed ?? 1303),
    "w7" => await ReplicationCommand.RunAsync(hubDll, series, rate, seconds),
    "w8" when points != 700 => Fail("w8 takes --stored (the points both hubs hold before the cuts) and --cut; see --help"),
    "w8" => await CatchUpCommand.RunAsync(hubDll, series, stored, cuts.Count > 0 ? cuts : [60, 600, 3600], nats),
    _ => Fail($"unknown command '{args[0]}'; see --help"),
};

// A span of data time: 30s, 10m, 1h (at most a day).
static int? ParseSpan(string span)
{
    var unit = span.Length > 1 ? span[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 } : 0;
    if (unit == 0 || !int.TryParse(span.AsSpan(0, span.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        return null;
    return count is > 0 and <= 86_400 && count * unit <= 86_400 ? count * unit : null;
}

static int Fail(string message)
{
    Console.Error.WriteLine("error: " + message);
    return 2;
}
