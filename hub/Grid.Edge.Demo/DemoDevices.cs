using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Grid.Edge.Agent;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Sensors;
using Grid.Edge.Hub;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Grid.Edge.Demo;

/// <summary>
/// The demo: a weather station and a van, each run by the real edge agent inside the hub against simulated
/// hardware (a BME280 register file, GPIO pulses and an MCP3008 for the station; a simulated ELM327 on a loopback
/// port for the van). The agents connect to this hub over MQTT with their own credentials, as paired devices do.
/// The last days of history go in through the agents' outboxes first (as after an outage), then they report live.
/// </summary>
internal sealed class DemoDevices(
    DemoOptions demo,
    HubOptions options,
    HubEndpoints endpoints,
    ITimeSeriesStore store,
    MqttUserDirectory users,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILoggerFactory loggers,
    ILogger<DemoDevices> logger) : BackgroundService
{
    public const string WeatherDevice = "demo-weather";
    public const string VehicleDevice = "demo-van";
    private const long WeatherBackfillStep = 60_000;
    private const long VehicleBackfillStep = 10_000;
    private const long Day = 86_400_000;

    private readonly WeatherStationModel _weather = new(WeatherDevice);
    private readonly TaskCompletionSource _historyDelivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when both agents' outboxes have emptied after taking the history: the hub holds all of it.</summary>
    public Task HistoryDelivered => _historyDelivered.Task;
    private readonly VehicleModel _van = new(VehicleDevice);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await started.Task.WaitAsync(stoppingToken);

        using var weatherHardware = new DemoWeatherHardware(_weather, time);
        var vanHardware = new DemoVanHardware(_van, time);
        using var adapterStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var adapter = await vanHardware.StartAsync(adapterStop.Token);
        // Where the history starts is read before the agents start: once running, their first live readings would
        // make the store look up to date.
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var weatherFrom = BackfillFrom(WeatherDevice, now);
        var vanFrom = BackfillFrom(VehicleDevice, now);
        using var weatherAgent = Agent(WeatherDevice, DemoWeatherHardware.Settings(), weatherHardware);
        using var vanAgent = Agent(VehicleDevice, VanSettings(vanHardware.Adapter!), null);
        await weatherAgent.StartAsync(stoppingToken);
        await vanAgent.StartAsync(stoppingToken);
        try
        {
            var watch = Stopwatch.StartNew();
            var backfilled = Take(weatherAgent, WeatherHistory(weatherFrom, now));
            backfilled += Take(vanAgent, VehicleHistory(vanFrom, now));
            logger.LogInformation("Demo agents {Weather} and {Van} took {Count} readings of the last {Days} days into their outboxes in {Seconds:0.0} s; live from simulated hardware now", WeatherDevice, VehicleDevice, backfilled, demo.Days, watch.Elapsed.TotalSeconds);

            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), time);
            var agents = new[] { weatherAgent, vanAgent }.Select(a => (Inbox: a.Services.GetRequiredService<ReadingInbox>(), Outbox: a.Services.GetRequiredService<SqliteOutbox>())).ToList();
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                weatherHardware.Update(0.25);
                vanHardware.Update(0.25);
                if (!_historyDelivered.Task.IsCompleted && agents.All(a => a.Inbox.Waiting == 0 && a.Outbox.Count == 0))
                {
                    logger.LogInformation("Demo history delivered to the hub after {Seconds:0.0} s", watch.Elapsed.TotalSeconds);
                    _historyDelivered.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stopping: the agents drain their queues into their outboxes; what the hub did not take yet waits there.
            await vanAgent.StopAsync(CancellationToken.None);
            await weatherAgent.StopAsync(CancellationToken.None);
            await adapterStop.CancelAsync();
            await adapter;
        }
    }

    private static IEnumerable<KeyValuePair<string, string?>> VanSettings(IPEndPoint adapter) =>
    [
        new("Agent:Obd:Enabled", "true"),
        new("Agent:Obd:Adapter", $"tcp://{adapter.Address}:{adapter.Port}"),
        new("Agent:Obd:FastIntervalSeconds", "1"),
        new("Agent:Obd:SlowIntervalSeconds", "5"),
        new("Agent:Obd:RareIntervalSeconds", "30"),
        new("Agent:Obd:IgnitionOffIntervalSeconds", "10"),
    ];

    /// <summary>An agent host for one demo device, with its own outbox under the hub's data folder and its own credentials.</summary>
    private IHost Agent(string device, IEnumerable<KeyValuePair<string, string?>> settings, ISensorFactory? hardware)
    {
        var broker = endpoints.Mqtt ?? throw new InvalidOperationException("the MQTT listener is not bound");
        var address = broker.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : broker.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : broker.Address;
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        users.AddEphemeral(device, password);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agent:DeviceId"] = device,
            ["Agent:HubHost"] = address.ToString(),
            ["Agent:HubMqttPort"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Agent:User"] = device,
            ["Agent:Password"] = password,
            ["Agent:DataDir"] = Path.Combine(options.DataDir, "demo", device),
            ["Agent:StatusIntervalSeconds"] = "10",
            ["Agent:Outbox:BatchReadings"] = "2000",
            ["Agent:Outbox:BackfillReadingsPerSecond"] = "200000",
        }.Concat(settings)).Build();
        return AgentHost.Build(
            configuration,
            logging =>
            {
                logging.ClearProviders();
                logging.AddProvider(new ForwardingLoggerProvider(loggers));
            },
            services =>
            {
                if (hardware is not null)
                    services.Replace(ServiceDescriptor.Singleton(hardware));
            },
            embedded: true);
    }

    /// <summary>Hands history to an agent as if its sensors had taken it while the hub was away.</summary>
    private static int Take(IHost agent, IEnumerable<Reading> readings)
    {
        var inbox = agent.Services.GetRequiredService<ReadingInbox>();
        var count = 0;
        foreach (var reading in readings)
        {
            inbox.Add(new OutboxReading(reading.Series.Metric, reading.Value, reading.Unit, reading.TimestampMs));
            count++;
        }

        return count;
    }

    /// <summary>Where the backfill starts: the configured days back, or after what the store already holds.</summary>
    private long BackfillFrom(string device, long now)
    {
        var from = now - demo.Days * Day;
        foreach (var series in store.ListSeries())
        {
            if (series.Key.Device == device)
                from = Math.Max(from, series.LatestMs + 1);
        }

        return from;
    }

    private IEnumerable<Reading> WeatherHistory(long from, long to)
    {
        for (var t = (from + WeatherBackfillStep - 1) / WeatherBackfillStep * WeatherBackfillStep; t < to; t += WeatherBackfillStep)
        {
            foreach (var reading in _weather.ReadingsAt(t, WeatherBackfillStep))
                yield return reading;
        }
    }

    private IEnumerable<Reading> VehicleHistory(long from, long to)
    {
        var lastStop = from;
        for (var day = from / Day * Day; day < to; day += Day)
        {
            var code = VehicleModel.TroubleCodeOn(day);
            foreach (var (start, length) in VehicleModel.TripsOn(day).OrderBy(trip => trip.Start))
            {
                for (var t = lastStop + 900_000; t < Math.Min(start, to); t += 900_000)
                {
                    if (t >= from)
                        yield return _van.RestingBattery(t, t - lastStop);
                }

                for (var t = start; t < start + length && t < to; t += VehicleBackfillStep)
                {
                    if (t < from)
                        continue;
                    foreach (var reading in _van.ReadingsAt(t, start, length, WeatherStationModel.Temperature(t)))
                        yield return reading;
                    if ((t - start) % 60_000 == 0)
                        yield return _van.DtcCount(t, code is null ? 0 : 1);
                    if (t == start && code is { } c)
                        yield return _van.Dtc(t, c);
                }

                lastStop = start + length;
            }
        }
    }

    /// <summary>Sends the embedded agents' logs to the hub's own logging.</summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => target.CreateLogger("demo." + categoryName);

        public void Dispose()
        {
        }
    }
}
