using Grid.Edge.Tests.Shared;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Tests.Support;

/// <summary>A hub started in this process on 127.0.0.1 with OS-chosen ports and a temp data directory.</summary>
internal sealed class InProcessHub : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDirectory;
    private WebApplication? _app;

    private InProcessHub(string dataDir, TempDirectory? owned)
    {
        DataDir = dataDir;
        _ownedDirectory = owned;
    }

    public string DataDir { get; }

    public IPEndPoint Mqtt { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public CapturingLoggerProvider Logs { get; } = new();

    public IServiceProvider Services => _app!.Services;

    public static async Task<InProcessHub> StartAsync(IDictionary<string, string?>? settings = null, string? dataDir = null, Action<IServiceCollection>? replace = null)
    {
        TempDirectory? owned = dataDir is null ? new TempDirectory() : null;
        var hub = new InProcessHub(dataDir ?? owned!.Path, owned);
        var values = new Dictionary<string, string?>
        {
            ["Hub:MqttPort"] = "0",
            ["Hub:HttpPort"] = "0",
            ["Hub:Bind"] = "127.0.0.1",
            ["Hub:DataDir"] = hub.DataDir,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        hub._app = HubHost.Build(configuration, logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(hub.Logs);
        }, replace);
        await hub._app.StartAsync();
        var endpoints = hub._app.Services.GetRequiredService<HubEndpoints>();
        hub.Mqtt = endpoints.Mqtt!;
        hub.Http = new HttpClient { BaseAddress = new Uri($"http://{endpoints.Http}"), Timeout = TimeSpan.FromSeconds(30) };
        return hub;
    }

    public Task<T?> GetAsync<T>(string path) => Http.GetFromJsonAsync<T>(path, Json.Options);

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _ownedDirectory?.Dispose();
    }
}
