using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Hub.Demo;

/// <summary>
/// <c>--demo</c>: a simulated weather station and van that publish to this hub over real MQTT, as real devices
/// would. They first backfill the last days through batches (only what the store does not hold yet), then report
/// live: the van every second, the station every two.
/// </summary>
internal sealed class DemoDevices(
    HubOptions options,
    HubEndpoints endpoints,
    ITimeSeriesStore store,
    MqttUserDirectory users,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<DemoDevices> logger) : BackgroundService
{
    public const string WeatherDevice = "demo-weather";
    public const string VehicleDevice = "demo-van";
    private const int ReadingsPerBatch = 1000;
    private const long WeatherBackfillStep = 60_000;
    private const long VehicleBackfillStep = 10_000;
    private const long Day = 86_400_000;

    private readonly WeatherStationModel _weather = new(WeatherDevice);
    private readonly VehicleModel _van = new(VehicleDevice);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await started.Task.WaitAsync(stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException)
            {
                logger.LogWarning("Demo devices lost their connection ({Reason}); reconnecting", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), time, stoppingToken);
            }
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var weatherClient = await ConnectAsync(WeatherDevice, stoppingToken);
        using var vanClient = await ConnectAsync(VehicleDevice, stoppingToken);

        var watch = Stopwatch.StartNew();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var backfilled = await PublishAsync(weatherClient, WeatherDevice, WeatherHistory(BackfillFrom(WeatherDevice, now), now), stoppingToken);
        backfilled += await PublishAsync(vanClient, VehicleDevice, VehicleHistory(BackfillFrom(VehicleDevice, now), now), stoppingToken);
        logger.LogInformation("Demo devices {Weather} and {Van} backfilled {Count} readings of the last {Days} days in {Seconds:0.0} s; now live", WeatherDevice, VehicleDevice, backfilled, options.DemoDays, watch.Elapsed.TotalSeconds);

        var liveStart = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        var tick = 0L;
        do
        {
            var t = time.GetUtcNow().ToUnixTimeMilliseconds();
            var van = _van.ReadingsAt(t, liveStart, 12 * 3_600_000, WeatherStationModel.Temperature(t)).ToList();
            if (tick % 10 == 0)
                van.Add(_van.DtcCount(t, tick >= 20 ? 1 : 0));
            if (tick == 20)
                van.Add(_van.Dtc(t, 0x0420));
            await PublishAsync(vanClient, VehicleDevice, van, stoppingToken);
            if (tick % 2 == 0)
                await PublishAsync(weatherClient, WeatherDevice, _weather.ReadingsAt(t, 2000), stoppingToken);
            tick++;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Where the backfill starts: the configured days back, or after what the store already holds.</summary>
    private long BackfillFrom(string device, long now)
    {
        var from = now - options.DemoDays * Day;
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

    private async Task<IMqttClient> ConnectAsync(string device, CancellationToken cancellationToken)
    {
        var broker = endpoints.Mqtt ?? throw new InvalidOperationException("the MQTT listener is not bound");
        var address = broker.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : broker.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : broker.Address;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(address.ToString(), broker.Port)
            .WithClientId(device)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithWillTopic(GridTopic.StatusTopic(device))
            .WithWillPayload("offline")
            .WithWillRetain()
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (options.Anonymous == AnonymousAccess.None)
        {
            var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
            users.AddEphemeral(device, password);
            builder.WithCredentials(device, password);
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(builder.Build(), cancellationToken);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"the hub refused demo device {device}: {result.ResultCode}");
        }

        await client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(GridTopic.StatusTopic(device)).WithPayload("online").WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            cancellationToken);
        return client;
    }

    /// <summary>Publishes readings as QoS 1 batches, several in flight, each under the hub's payload limit.</summary>
    private static async Task<int> PublishAsync(IMqttClient client, string device, IEnumerable<Reading> readings, CancellationToken cancellationToken)
    {
        var topic = GridTopic.BatchTopic(device);
        var inFlight = new List<Task<MqttClientPublishResult>>();
        var count = 0;
        foreach (var chunk in readings.Chunk(ReadingsPerBatch))
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(BatchPayload(chunk))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            inFlight.Add(client.PublishAsync(message, cancellationToken));
            count += chunk.Length;
            if (inFlight.Count == 8)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }

        await Task.WhenAll(inFlight);
        return count;
    }

    private static byte[] BatchPayload(Reading[] readings)
    {
        var buffer = new ArrayBufferWriter<byte>(readings.Length * 48);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("readings");
            foreach (var reading in readings)
            {
                json.WriteStartObject();
                json.WriteString("m", reading.Series.Metric);
                json.WriteNumber("v", reading.Value);
                json.WriteNumber("t", reading.TimestampMs);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
