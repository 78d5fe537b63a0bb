using System.Net;
using Grid.Edge.Testing;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Testing;

/// <summary>
/// A hub started in this process on 127.0.0.1 with OS-chosen ports and a temp data directory. It has an admin
/// (password <see cref="AdminPassword"/>) and an API token that <see cref="Http"/> sends with every request, as a
/// script would; <see cref="NewClient"/> makes clients without it (a guest, or a browser session).
/// </summary>
internal sealed class InProcessHub : IAsyncDisposable
{
    public const string AdminPassword = "correct horse battery";

    private readonly TempDirectory? _ownedDirectory;
    private WebApplication? _app;

    private InProcessHub(string dataDir, TempDirectory? owned)
    {
        DataDir = dataDir;
        _ownedDirectory = owned;
    }

    public string DataDir { get; }

    public IPEndPoint Mqtt { get; private set; } = null!;

    /// <summary>Carries the hub's API token (Authorization: Bearer).</summary>
    public HttpClient Http { get; private set; } = null!;

    public string? Token { get; private set; }

    public Uri BaseAddress => Http.BaseAddress!;

    public CapturingLoggerProvider Logs { get; } = new();

    public IServiceProvider Services => _app!.Services;

    /// <param name="withAdmin">False starts a hub whose admin password was never set (the first run).</param>
    /// <param name="replace">Replaces services before the hub is built (fault injection).</param>
    public static async Task<InProcessHub> StartAsync(IDictionary<string, string?>? settings = null, string? dataDir = null, bool withAdmin = true, Action<IServiceCollection>? replace = null)
    {
        TempDirectory? owned = dataDir is null ? new TempDirectory() : null;
        var hub = new InProcessHub(dataDir ?? owned!.Path, owned);
        var values = new Dictionary<string, string?>
        {
            ["Hub:MqttPort"] = "0",
            ["Hub:HttpPort"] = "0",
            ["Hub:GridPort"] = "0",
            ["Hub:DiscoveryPort"] = "0",
            ["Hub:Bind"] = "127.0.0.1",
            ["Hub:DataDir"] = hub.DataDir,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        if (withAdmin)
            hub.Token = SetUpAdmin(values["Hub:DataDir"]!);
        hub._app = HubHost.Build(configuration, logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(hub.Logs);
        }, replace);
        await hub._app.StartAsync();
        var endpoints = hub._app.Services.GetRequiredService<HubEndpoints>();
        hub.Mqtt = endpoints.Mqtt!;
        hub.Http = new HttpClient { BaseAddress = new Uri($"http://{endpoints.Http}"), Timeout = TimeSpan.FromSeconds(30) };
        if (hub.Token is not null)
            hub.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", hub.Token);
        return hub;
    }

    /// <summary>Gives a data folder an admin (when it has none) and a fresh API token for the tests, as the CLI would.</summary>
    public static string SetUpAdmin(string dataDir)
    {
        var path = Grid.Edge.Hub.Security.Login.AdminAccount.PathIn(dataDir);
        if (!Grid.Edge.Hub.Security.Login.AdminAccount.Read(path).HasAdmin)
            Grid.Edge.Hub.Security.Login.AdminAccount.SetPassword(path, AdminPassword);
        return Grid.Edge.Hub.Security.Login.AdminAccount.CreateToken(path, "tests");
    }

    /// <summary>A client without the token; with <paramref name="cookies"/> it keeps a browser's cookies.</summary>
    public HttpClient NewClient(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public Task<T?> GetAsync<T>(string path) => Http.GetFromJsonAsync<T>(path, Json.Options);

    /// <summary>The resource, or null while it does not exist (404): for waiting until something appears.</summary>
    public async Task<T?> GetOrNullAsync<T>(string path)
    {
        using var response = await Http.GetAsync(path);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            return default;
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(Json.Options);
    }

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
