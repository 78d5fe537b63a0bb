using System.Net;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Mqtt;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Membership;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Protocol.Payloads;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MQTTnet.Server;

namespace Grid.Edge.Hub;

/// <summary>Composition root: builds the hub's web application from its settings.</summary>
internal static class HubHost
{
    /// <summary>Builds (does not start) the hub. <paramref name="configuration"/> holds the <c>Hub</c> section and logging.</summary>
    /// <remarks><paramref name="replace"/> may add or swap services before the app is built (the demo adds its devices; tests put faults under the store).</remarks>
    public static WebApplication Build(IConfiguration configuration, Action<ILoggingBuilder>? logging = null, Action<IServiceCollection>? replace = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(configuration);
        var options = HubConfiguration.Bind(builder.Configuration);
        HubConfiguration.PrepareDataDirectory(options.DataDir);
        logging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(Options.Create(options));
        services.AddSingleton(options);
        // The one wall clock of the hub (shifted only by the fault-injection hook): everything reads the time from it.
        var time = Hosting.ShiftedClock.Compose(Environment.GetEnvironmentVariable(Hosting.ShiftedClock.Variable));
        services.AddSingleton(time);
        services.AddSingleton<HubEndpoints>();
        services.AddSingleton<Monitoring.HubMetrics>();
        var identity = LoadIdentity(options.DataDir);
        services.AddSingleton(_ => identity); // made by the container, so disposed with it
        services.AddSingleton(OpenGrid(identity, options.DataDir, time));
        services.AddSingleton(sp => ChunkedTimeSeriesStore.Open(
            new ChunkStoreOptions
            {
                DataDirectory = Path.Combine(options.DataDir, "store"),
                Origin = identity.HubId,
                CommitDelay = TimeSpan.FromMilliseconds(options.CommitDelayMs),
                CheckpointInterval = TimeSpan.FromSeconds(options.CheckpointSeconds),
                Retention = HubConfiguration.RetentionRules(builder.Configuration, options),
                DiskBudgetBytes = options.DiskBudgetMb > 0 ? options.DiskBudgetMb * 1024L * 1024 : null,
                Time = sp.GetRequiredService<TimeProvider>(),
            },
            sp.GetRequiredService<ILogger<ChunkedTimeSeriesStore>>()));
        services.AddSingleton<ITimeSeriesStore>(sp => sp.GetRequiredService<ChunkedTimeSeriesStore>());
        services.AddHostedService<Persistence.StoreWatchdog>();
        services.AddSingleton(new ReadingDecoder(new ReadingDecoderOptions
        {
            MaxPayloadBytes = options.MaxPayloadBytes,
            MaxBatchReadings = options.MaxBatchReadings,
            MaxFutureSkew = TimeSpan.FromSeconds(options.MaxFutureSkewSeconds),
        }));
        services.AddSingleton(sp => new RejectionLog(sp.GetRequiredService<ILogger<RejectionLog>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton(sp => new DeviceQuotas(
            sp.GetRequiredService<ITimeSeriesStore>(),
            new DeviceQuotaOptions { MaxSeriesPerDevice = options.MaxSeriesPerDevice, ReadingsPerSecond = options.MaxDeviceRate },
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(new LiveFeed(new LiveFeedOptions { MaxListeners = options.MaxLiveListeners, MaxListenersPerAddress = options.MaxLiveListenersPerAddress }));
        services.AddSingleton<SeriesIntervals>();
        var stations = new Dictionary<string, double>(HubConfiguration.StationAltitudes(builder.Configuration), StringComparer.Ordinal);
        services.AddSingleton(sp => new Derived.RainTotals(
            sp.GetRequiredService<ITimeSeriesStore>(),
            sp.GetRequiredService<TimeProvider>(),
            options.DataDir,
            Derived.RainTotals.LoadResets(options.DataDir, sp.GetRequiredService<ILogger<Derived.RainTotals>>())));
        services.AddSingleton(sp => new Readings.ReadingWriter(
            sp.GetRequiredService<ITimeSeriesStore>(),
            sp.GetRequiredService<DeviceQuotas>(),
            sp.GetRequiredService<ILogger<Readings.ReadingWriter>>()));
        services.AddSingleton(sp => new Derived.DerivedWeather(
            sp.GetRequiredService<ITimeSeriesStore>(),
            sp.GetRequiredService<Readings.ReadingWriter>(),
            sp.GetRequiredService<Derived.RainTotals>(),
            stations,
            sp.GetRequiredService<ILogger<Derived.DerivedWeather>>()));
        services.AddHostedService(sp => sp.GetRequiredService<Derived.DerivedWeather>());
        var alertRules = Alerts.AlertRulesFile.Load(options.DataDir); // a bad rules file stops the hub with the reason
        services.AddSingleton(sp => new Intelligence.Alerts.AlertEngine(alertRules, sp.GetRequiredService<TimeProvider>()));
        var webhooks = Alerts.WebhookNotifier.Load(options.DataDir);
        services.AddSingleton(sp => new Alerts.WebhookNotifier(webhooks, new HttpClient(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Alerts.WebhookNotifier>>()));
        services.AddHostedService(sp => sp.GetRequiredService<Alerts.WebhookNotifier>());
        services.AddSingleton(new Alerts.AlertStateFile(options.DataDir));
        services.AddSingleton<Alerts.AlertService>();
        services.AddHostedService(sp => sp.GetRequiredService<Alerts.AlertService>());
        services.AddSingleton(sp => Vehicles.VehicleBook.Open(options.DataDir, sp.GetRequiredService<ILogger<Vehicles.VehicleBook>>()));
        services.AddSingleton<Vehicles.VehicleTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<Vehicles.VehicleTracker>());
        services.AddSingleton(sp => new Replication.Node.GridReplicator(
            identity,
            sp.GetRequiredService<Replication.Membership.GridMembership>(),
            sp.GetRequiredService<ChunkedTimeSeriesStore>(),
            GridNode.GridService.Merge(sp.GetRequiredService<Readings.ReadingWriter>()),
            options.DataDir,
            new Replication.Node.GridReplicatorOptions
            {
                BindAddress = options.Bind,
                Port = options.GridPort,
                Peers = options.PeerList,
                Discovery = options.DiscoveryOn,
                DiscoveryPort = options.DiscoveryPort,
                MaxSkew = TimeSpan.FromSeconds(options.GridMaxSkewSeconds),
            },
            sp.GetRequiredService<ILogger<Replication.Node.GridReplicator>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<GridNode.GridService>();
        var exports = Exports.ExportSettings.Read(builder.Configuration); // a bad export stops the start with what to change
        services.AddSingleton(sp => new Exports.ExportService([.. exports.Select(export => new Exports.ExportWorker(
            export,
            Exports.ExportTargets.Create(export),
            sp.GetRequiredService<ChunkedTimeSeriesStore>(),
            new Exports.ExportCursorFile(options.DataDir, export),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<Exports.ExportWorker>>()))]));
        services.AddHostedService(sp => sp.GetRequiredService<Exports.ExportService>());
        services.AddSingleton<IngestService>();
        services.AddSingleton(sp => new MqttUserDirectory(
            options.ResolvedUsersFile,
            HubConfiguration.ConfiguredUsers(builder.Configuration),
            sp.GetRequiredService<ILogger<MqttUserDirectory>>()));
        services.AddSingleton<MqttSessionOwners>();
        services.AddSingleton<ConnectThrottle>();
        services.AddSingleton(new RetainedQuota(options.MaxRetainedMessages, Math.Min(options.MaxRetainedBytes, options.MaxPayloadBytes)));
        services.AddSingleton<MqttConnectionPolicy>();
        services.AddSingleton<Security.Pairing.DevicePairing>();
        services.AddHostedService<RevokedSessionGuard>();
        services.AddSingleton<MqttIngestBridge>();

        // Registered before the broker so that it stops after it, and saves the wills published at shutdown.
        services.AddSingleton<RetainedMessageFile>();
        services.AddHostedService(sp => sp.GetRequiredService<RetainedMessageFile>());
        services.AddSingleton(sp => new MqttNetLogBridge(sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<MQTTnet.Diagnostics.Logger.IMqttNetLogger>(sp => sp.GetRequiredService<MqttNetLogBridge>());
        services.AddHostedMqttServer(mqtt => mqtt.WithoutDefaultEndpoint().WithMaxPendingMessagesPerClient(10_000))
            .AddMqttConnectionHandler()
            .AddConnections();
        Security.Login.WebAccess.AddServices(services, options);
        services.AddOpenApi();
        services.AddResponseCompression(compression =>
            compression.MimeTypes = Microsoft.AspNetCore.ResponseCompression.ResponseCompressionDefaults.MimeTypes.Append("text/csv"));
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals);
        services.Configure<HostOptions>(host =>
        {
            host.ShutdownTimeout = TimeSpan.FromSeconds(20);

            // A background service outlives transient errors itself (Hosting/ServiceFaults); one that fails anyway
            // stops the hub, and Program exits non-zero for systemd to restart it.
            host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        var endpoints = new HubEndpoints(time);
        services.AddSingleton(endpoints);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = IPAddress.Parse(options.Bind);
            kestrel.Listen(address, options.MqttPort, listen =>
            {
                endpoints.MqttListener = listen;
                listen.Use(MqttTeardownGuard.Middleware(listen.ApplicationServices));
                listen.Use(MqttFrameLimit.Middleware(MqttFrameLimit.MaxRemainingLength(options.MaxPayloadBytes)));
                listen.UseMqtt();
            });
            kestrel.Listen(address, options.HttpPort, listen => endpoints.HttpListener = listen);
            if (Hosting.ControlSocket.Unusable(options.DataDir) is null)
                Hosting.ControlSocket.Listen(kestrel, options.DataDir);
        });

        replace?.Invoke(services);
        var app = builder.Build();
        if (time is Hosting.ShiftedClock shifted)
            app.Logger.LogWarning("This hub's clock is shifted by {Offset:+0;-0} s ({Variable}, a fault-injection hook for tests): it runs at {Now:u}", shifted.Offset.TotalSeconds, Hosting.ShiftedClock.Variable, shifted.GetUtcNow());
        ListenToStoredReadings(app.Services);
        app.Services.GetRequiredService<MqttIngestBridge>().Attach();
        app.Services.GetRequiredService<RetainedMessageFile>().Attach();
        SeedDevices(app.Services);
        app.Lifetime.ApplicationStopping.Register(() => DisconnectMqttClients(app.Services));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (Hosting.ControlSocket.Unusable(options.DataDir) is { } why)
                app.Logger.LogWarning("No control socket, so commands such as 'grid status' cannot reach this hub: {Reason}", why);
            else
                Hosting.ControlSocket.Restrict(options.DataDir);
        });
        Security.Login.WebAccess.UseHostAllowlist(app);
        app.UseResponseCompression();
        Dashboard.DashboardEndpoints.UseAssets(app); // scripts and styles hold no data: the login page needs them
        Security.Login.WebAccess.UseLogin(app);
        app.MapOpenApi();
        Security.Login.LoginEndpoints.Map(app);
        ApiEndpoints.Map(app);
        PairingEndpoints.Map(app);
        WeatherEndpoints.Map(app);
        AlertEndpoints.Map(app);
        VehicleEndpoints.Map(app);
        GridNode.GridEndpoints.Map(app);
        Exports.ExportEndpoints.Map(app);
        Dashboard.DashboardEndpoints.Map(app);
        Monitoring.MetricsEndpoint.Map(app);
        return app;
    }

    /// <summary>
    /// The background service whose failure stopped the hub, if one did (.NET's host stops then, as
    /// <see cref="BackgroundServiceExceptionBehavior.StopHost"/> says, but its run still ends as if all went well).
    /// </summary>
    public static (string Service, Exception Error)? FailedService(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var service in services.GetServices<IHostedService>().OfType<BackgroundService>())
        {
            if (service.ExecuteTask is { IsFaulted: true } failed)
                return (service.GetType().Name, failed.Exception!.GetBaseException());
        }

        return null;
    }

    /// <summary>
    /// Kestrel's graceful stop waits for open connections, and MQTT connections stay open until the broker closes
    /// them; so the broker lets its clients go first, telling MQTT 5 clients why.
    /// </summary>
    private static void DisconnectMqttClients(IServiceProvider services)
    {
        var server = services.GetRequiredService<MqttServer>();
        if (!server.IsStarted)
            return;
        server.AcceptNewConnections = false;
        var options = new MqttServerClientDisconnectOptions { ReasonCode = MQTTnet.Protocol.MqttDisconnectReasonCode.ServerShuttingDown };
        var clients = server.GetClientsAsync().GetAwaiter().GetResult();
        Task.WhenAll(clients.Select(c => c.DisconnectAsync(options))).Wait(TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Who hears of readings once they are stored, in this order: the live feed first (people watching see a reading
    /// as soon as it is durable), then what derives from readings, alerts, the vehicles' bookkeeping, and the exports.
    /// </summary>
    private static void ListenToStoredReadings(IServiceProvider services)
    {
        var writer = services.GetRequiredService<Readings.ReadingWriter>();
        writer.Stored += services.GetRequiredService<LiveFeed>().OnStored;
        writer.Stored += services.GetRequiredService<Derived.DerivedWeather>().OnStored;
        writer.Stored += services.GetRequiredService<Alerts.AlertService>().OnStored;
        writer.Stored += services.GetRequiredService<Vehicles.VehicleTracker>().OnStored;
        var exports = services.GetRequiredService<Exports.ExportService>();
        if (exports.Workers.Count > 0)
            writer.Stored += exports.OnStored;
    }

    private static void SeedDevices(IServiceProvider services)
    {
        var devices = services.GetRequiredService<DeviceRegistry>();
        foreach (var series in services.GetRequiredService<ITimeSeriesStore>().ListSeries())
            devices.Seed(series.Key.Device, DateTimeOffset.FromUnixTimeMilliseconds(series.LatestMs));
    }

    /// <summary>The grid this hub belongs to, if any; a damaged state file stops the start with what to do.</summary>
    private static GridMembership OpenGrid(HubIdentity identity, string dataDir, TimeProvider time)
    {
        try
        {
            return GridMembership.Open(identity, dataDir, time);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new HubConfigurationException($"The hub's grid state could not be loaded: {ex.Message}", ex);
        }
    }

    /// <summary>The hub's key pair, made on first start; a damaged or exposed key file stops the start with what to do.</summary>
    private static HubIdentity LoadIdentity(string dataDir)
    {
        try
        {
            return HubIdentity.LoadOrCreate(dataDir);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new HubConfigurationException($"The hub's identity could not be loaded: {ex.Message}", ex);
        }
    }
}
