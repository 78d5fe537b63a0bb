using System.Diagnostics;
using System.Globalization;
using Grid.Edge.Benchmarks.Mqtt;
using MQTTnet.Protocol;

// W1 MQTT saturation, hub against Mosquitto in the same run (DESIGN.md section 7).
var messages = 200_000;
var runs = 3;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--messages" when i + 1 < args.Length:
            messages = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--runs" when i + 1 < args.Length:
            runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "-h" or "--help":
            Console.WriteLine("""
                W1 MQTT saturation: the Grid.Edge hub (storing durably) against Mosquitto 2.0.11 (broker only).
                Usage: dotnet run -c Release --project benchmarks/Grid.Edge.Benchmarks.Mqtt -- [--messages N] [--runs R]
                  --messages N  messages per run (default 200000; DESIGN.md uses 1000000)
                  --runs R      runs per cell; the median is reported (default 3)
                Needs Debian's mosquitto (/usr/sbin/mosquitto) and taskset. Brokers run on core 0, this tool on core 1.
                """);
            return 0;
        default:
            Console.Error.WriteLine($"error: unknown argument '{args[i]}'; see --help");
            return 2;
    }
}

if (!File.Exists("/usr/sbin/mosquitto"))
{
    Console.Error.WriteLine("error: /usr/sbin/mosquitto is missing: apt-get install mosquitto");
    return 1;
}

var hubDll = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "hub", "Grid.Edge.Hub", "bin",
    new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name, "net10.0", "Grid.Edge.Hub.dll");
hubDll = Path.GetFullPath(hubDll);
if (!File.Exists(hubDll))
{
    Console.Error.WriteLine($"error: the hub is not built at {hubDll}");
    return 1;
}

if (Environment.ProcessorCount >= 2 && OperatingSystem.IsLinux())
    Process.GetCurrentProcess().ProcessorAffinity = 1 << 1;

Console.WriteLine($"W1 saturation: {messages:N0} messages of {SaturationWorkload.PayloadBytes} B per run, median of {runs}; brokers on core 0, load on core 1");
var results = new List<RunResult>();
foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
{
    for (var run = 1; run <= runs; run++)
    {
        // Alternate which broker goes first so that warm caches favour neither.
        var order = run % 2 == 1 ? new[] { false, true } : [true, false];
        foreach (var hub in order)
        {
            await using var broker = hub ? await BrokerUnderTest.StartHubAsync(hubDll, 0) : await BrokerUnderTest.StartMosquittoAsync(0);
            var result = await SaturationWorkload.RunAsync(broker, qos, messages);
            results.Add(result);
            Console.WriteLine($"  QoS{(int)qos} run {run} {result.Broker,-30} {result.MessagesPerSecond,10:N0} msg/s  ({result.Delivered:N0}/{result.Sent:N0} in {result.Elapsed.TotalSeconds:0.00} s)");
        }
    }
}

Console.WriteLine();
Console.WriteLine("| workload | Mosquitto 2.0.11 (broker only) | Grid.Edge hub (stored durably) | hub / Mosquitto |");
Console.WriteLine("|---|---:|---:|---:|");
foreach (var qos in new[] { MqttQualityOfServiceLevel.AtMostOnce, MqttQualityOfServiceLevel.AtLeastOnce })
{
    double Median(bool hub) => results.Where(r => r.Qos == qos && r.Broker.StartsWith(hub ? "Grid" : "mosquitto", StringComparison.Ordinal))
        .Select(r => r.MessagesPerSecond).Order().ElementAt(runs / 2);
    var m = Median(false);
    var h = Median(true);
    Console.WriteLine($"| W1 QoS{(int)qos}, 64 B, 1 pub | {m:N0} msg/s | {h:N0} msg/s | {h / m:0.00}x |");
}

return 0;
