using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// Dashboard weight and speed: bytes a browser transfers to show the weather page (cold cache), and the time to
/// fetch and draw a 7-day chart of 1-minute data (10,080 points) in the explorer. Hub in demo mode on core 0;
/// Debian's Chromium driven by Playwright.
/// </summary>
internal static class DashboardCommand
{
    private const string Chromium = "/usr/bin/chromium";

    public static async Task<int> RunAsync(string hubDll, int runs)
    {
        if (!File.Exists(Chromium))
        {
            Console.Error.WriteLine($"error: {Chromium} is missing: apt-get install chromium");
            return 1;
        }

        var demoDll = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(hubDll)))))!, "Grid.Edge.Demo", "bin", Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(hubDll)))!, "net10.0", "Grid.Edge.Demo.dll");
        if (!File.Exists(demoDll))
        {
            Console.Error.WriteLine($"error: the demo is not built at {demoDll}");
            return 1;
        }

        await using var hub = await BrokerUnderTest.StartDemoAsync(hubDll, demoDll, 0);
        using var http = hub.NewHttpClient();
        await WaitForBackfillAsync(http);
        var baseUrl = hub.Http!.ToString().TrimEnd('/');

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });

        Console.WriteLine($"Dashboard: hub in demo mode (7 days backfilled), Chromium headless, median of {runs}");
        var weights = new List<(long Bytes, int Requests, long ApiBytes, double LoadedMs)>();
        for (var run = 0; run < runs; run++)
            weights.Add(await WeatherPageWeightAsync(browser, baseUrl));
        var renders = new List<(double FetchMs, double RenderMs, double TotalMs, int Points)>();
        for (var run = 0; run < runs; run++)
            renders.Add(await SevenDayChartAsync(browser, baseUrl));

        var weight = weights.OrderBy(w => w.Bytes).ElementAt(runs / 2);
        var loaded = weights.Select(w => w.LoadedMs).Order().ElementAt(runs / 2);
        var render = renders.OrderBy(r => r.TotalMs).ElementAt(runs / 2);
        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| weather page, bytes transferred (cold cache, compressed) | {weight.Bytes / 1024.0:N1} KiB in {weight.Requests} requests |");
        Console.WriteLine($"| of which API data (charts of the last 24 h, current values) | {weight.ApiBytes / 1024.0:N1} KiB |");
        Console.WriteLine($"| weather page, navigation to all charts drawn | {loaded:N0} ms |");
        Console.WriteLine($"| 7-day chart of 1-minute data ({render.Points:N0} points): fetch | {render.FetchMs:N1} ms |");
        Console.WriteLine($"| 7-day chart of 1-minute data: draw | {render.RenderMs:N1} ms |");
        Console.WriteLine($"| 7-day chart: navigation to chart drawn | {render.TotalMs:N0} ms |");
        return 0;
    }

    private static async Task WaitForBackfillAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            using var series = await http.GetFromJsonAsync<JsonDocument>("/api/series");
            var temperature = series!.RootElement.EnumerateArray().FirstOrDefault(s => s.GetProperty("id").GetString() == "demo-weather/temperature");
            if (temperature.ValueKind == JsonValueKind.Object && temperature.GetProperty("count").GetInt64() >= 7 * 24 * 60 - 5)
                return;
            await Task.Delay(200);
        }

        throw new TimeoutException("the demo backfill did not finish");
    }

    private static async Task<(long Bytes, int Requests, long ApiBytes, double LoadedMs)> WeatherPageWeightAsync(IBrowser browser, string baseUrl)
    {
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var responses = new List<IResponse>();
        page.Response += (_, response) => { lock (responses) responses.Add(response); };
        await page.GotoAsync(baseUrl + "/weather");
        await page.WaitForFunctionAsync("() => window.gridTimings.length >= 5", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        var loaded = await page.EvaluateAsync<double>("() => Math.max(...window.gridTimings.map(t => t.fetchMs + t.renderMs)) + performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd");
        long bytes = 0, api = 0;
        var counted = 0;
        foreach (var response in responses.ToList())
        {
            if (response.Url.Contains("/api/live", StringComparison.Ordinal))
                continue; // the live stream never ends; its bytes depend on how long one watches
            var sizes = await response.Request.SizesAsync();
            var size = sizes.ResponseBodySize + sizes.ResponseHeadersSize;
            bytes += size;
            counted++;
            if (response.Url.Contains("/api/", StringComparison.Ordinal))
                api += size;
        }

        return (bytes, counted, api, loaded);
    }

    private static async Task<(double FetchMs, double RenderMs, double TotalMs, int Points)> SevenDayChartAsync(IBrowser browser, string baseUrl)
    {
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var from = to - 7 * 86_400_000L;
        await page.GotoAsync($"{baseUrl}/explorer?series=demo-weather/temperature&from={from}&to={to}");
        await page.WaitForFunctionAsync("() => window.gridTimings.length >= 1", null, new PageWaitForFunctionOptions { Timeout = 60_000 });
        var timing = await page.EvaluateAsync<JsonElement>("() => ({ ...window.gridTimings[0], now: performance.now() })");
        return (timing.GetProperty("fetchMs").GetDouble(), timing.GetProperty("renderMs").GetDouble(), timing.GetProperty("now").GetDouble(), timing.GetProperty("points").GetInt32());
    }
}
