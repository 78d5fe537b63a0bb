using Grid.Edge.Hub.Testing;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// The live stream's limits over real HTTP: listeners capped overall (503) and per address (429) with a sentence, and
/// a listener that stops reading is dropped while a fast one next to it misses nothing.
/// </summary>
public sealed class LiveStreamLimitTests
{
    private static HttpClient ClientFrom(InProcessHub hub, string localAddress)
    {
        // Loopback answers on all of 127/8: a second local address stands for a second machine.
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = hub.Http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.Authorization = hub.Http.DefaultRequestHeaders.Authorization;
        return client;
    }

    /// <summary>An open stream, read up to its ": connected" line (from then on nothing published is missed).</summary>
    private sealed class LiveStream : IDisposable
    {
        private readonly HttpResponseMessage _response;

        private LiveStream(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            Reader = reader;
        }

        public StreamReader Reader { get; }

        public static async Task<(HttpStatusCode Status, string Body, LiveStream? Stream)> OpenAsync(HttpClient client, string query = "")
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var response = await client.GetAsync("/api/live" + query, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                response.Dispose();
                return (response.StatusCode, body, null);
            }

            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            while (await reader.ReadLineAsync(timeout.Token) is { } line && line != ": connected")
            {
            }

            return (HttpStatusCode.OK, string.Empty, new LiveStream(response, reader));
        }

        public void Dispose()
        {
            Reader.Dispose();
            _response.Dispose();
        }
    }

    [Fact]
    public async Task Listeners_beyond_the_caps_are_refused_with_a_sentence_per_address_and_overall()
    {
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:MaxLiveListeners"] = "3",
            ["Hub:MaxLiveListenersPerAddress"] = "2",
        });
        using var here = ClientFrom(hub, "127.0.0.1");
        using var there = ClientFrom(hub, "127.0.0.2");

        var first = await LiveStream.OpenAsync(here);
        var second = await LiveStream.OpenAsync(here);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);

        var third = await LiveStream.OpenAsync(here);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Status);
        Assert.Contains("127.0.0.1 already has 2 live streams open, the most one address may have", third.Body, StringComparison.Ordinal);

        var fromThere = await LiveStream.OpenAsync(there);
        Assert.Equal(HttpStatusCode.OK, fromThere.Status);
        var overall = await LiveStream.OpenAsync(there);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, overall.Status);
        Assert.Contains("already serves 3 live streams, the most it allows", overall.Body, StringComparison.Ordinal);

        // A closed stream gives its place back.
        first.Stream!.Dispose();
        var health = await Eventually.WaitForAsync(() => hub.GetAsync<HealthResponse>("/api/health"), h => h!.LiveListeners == 2, "the closed stream to go");
        Assert.Equal(2, health!.LiveListenersRefused);
        var again = await LiveStream.OpenAsync(there);
        Assert.Equal(HttpStatusCode.OK, again.Status);

        foreach (var open in new[] { second, fromThere, again })
            open.Stream!.Dispose();
        Assert.Empty(hub.Logs.Errors);
    }

    [Fact]
    public async Task A_listener_that_stops_reading_is_dropped_while_a_fast_one_keeps_receiving_everything()
    {
        // Big batches, as a backfill sends them, so the slow listener's queue fills in a few messages.
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:MaxPayloadBytes"] = "1048576" });
        using var http = ClientFrom(hub, "127.0.0.1");
        var slow = (await LiveStream.OpenAsync(http, "?device=flood")).Stream!;
        var fast = (await LiveStream.OpenAsync(http, "?device=flood")).Stream!;

        // The fast listener reads on its own: every value it was sent, in order.
        var received = new List<double>();
        var receivedCount = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var reading = Task.Run(async () =>
        {
            while (await fast.Reader.ReadLineAsync(stop.Token) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                    continue;
                received.Add(JsonSerializer.Deserialize<LiveReading>(line[6..], Json.Options)!.V);
                Volatile.Write(ref receivedCount, received.Count);
            }
        });

        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        const int batch = 10_000;
        const long t0 = 1_795_330_000_000;
        var sent = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        HealthResponse? health;
        do
        {
            var text = new StringBuilder("{\"readings\":[");
            for (var i = 0; i < batch; i++)
                text.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : string.Empty)}{{\"m\":\"level\",\"v\":{sent + i},\"t\":{t0 + sent + i}}}");
            Assert.True((await client.PublishAsync("grid/flood/batch", text.Append("]}").ToString())).IsSuccess);
            sent += batch;

            // The fast listener is never far behind: it has this batch before the next goes out.
            var target = sent;
            await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref receivedCount)), n => n >= target, $"the fast listener to have {target} readings", TimeSpan.FromSeconds(30));
            health = await hub.GetAsync<HealthResponse>("/api/health");
            Assert.True(DateTime.UtcNow < deadline, $"the slow listener was not dropped after {sent} readings");
        }
        while (health!.LiveListenersDropped == 0);

        Assert.Equal(1, health.LiveListeners);

        // One more after the drop still reaches the fast listener, in order, with nothing missing.
        Assert.True((await client.PublishAsync("grid/flood/level", string.Create(CultureInfo.InvariantCulture, $"{{\"v\":{sent},\"t\":{t0 + sent}}}"))).IsSuccess);
        await Eventually.WaitForAsync(() => Task.FromResult(Volatile.Read(ref receivedCount)), n => n == sent + 1, "the last reading");
        Assert.Equal(Enumerable.Range(0, sent + 1).Select(i => (double)i), received);

        // The slow listener's connection was closed: what was in flight drains, then the stream ends.
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ended = false;
        try
        {
            while (await slow.Reader.ReadLineAsync(drain.Token) is not null)
            {
            }

            ended = true;
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            ended = true; // aborted mid-event
        }

        Assert.True(ended);
        Assert.Empty(hub.Logs.Errors);
        slow.Dispose();
        fast.Dispose();
        await stop.CancelAsync();
        await reading.ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
