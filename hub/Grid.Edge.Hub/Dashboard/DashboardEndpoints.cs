using Microsoft.Extensions.FileProviders;

namespace Grid.Edge.Hub.Dashboard;

/// <summary>
/// The dashboards: pages and their assets (our scripts and the npm-built chart library) served from the
/// <c>dashboard/</c> folder beside the hub. Nothing is loaded from any other host.
/// </summary>
internal static class DashboardEndpoints
{
    private static readonly (string Route, string File)[] Pages =
    [
        ("/", "index.html"),
        ("/weather", "weather.html"),
        ("/vehicle", "vehicle.html"),
        ("/explorer", "explorer.html"),
        ("/alerts", "alerts.html"),
        ("/grid", "grid.html"),
    ];

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "dashboard");

    private static bool Built => File.Exists(Path.Combine(Folder, "lib", "uPlot.iife.min.js"));

    /// <summary>Scripts, styles and the chart library under <c>/assets</c>: served to anyone (they hold no data).</summary>
    public static void UseAssets(WebApplication app)
    {
        if (!Built)
            return;
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Folder),
            RequestPath = "/assets",
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
    }

    /// <summary>The pages; each hands its scripts a fresh antiforgery request token (see Security/Login/WebAccess).</summary>
    public static void Map(WebApplication app)
    {
        if (!Built)
        {
            // A hub built without npm still serves its API; the pages say what is missing.
            foreach (var (route, _) in Pages)
            {
                app.MapGet(route, () => Results.Text(
                    "The dashboards were not built: the hub needs Node.js and npm at build time (sudo apt-get install nodejs npm), then 'dotnet build'. The API is at /api/health.",
                    statusCode: StatusCodes.Status503ServiceUnavailable)).ExcludeFromDescription();
            }

            return;
        }

        foreach (var (route, file) in Pages)
        {
            var path = Path.Combine(Folder, file);
            app.MapGet(route, (HttpContext http) =>
                {
                    Security.Login.WebAccess.IssueRequestToken(http);
                    return Results.File(path, "text/html; charset=utf-8");
                })
                .ExcludeFromDescription();
        }
    }
}
