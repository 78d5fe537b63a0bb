using System.Diagnostics;
using System.Net;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// W8's anchor: the same readings (the same JSON batches, one message each) through a JetStream stream on one
/// nats-server, mirrored by a second nats-server. The second is a leaf node of the first through the same counting
/// relay the hubs use; each has its own JetStream domain, and the mirror reads the origin's stream through
/// <c>$JS.origin.API</c>, as a site would mirror a stream of another over a leaf link. For a cut the mirror server is
/// killed, the cut's points (both sites' writes; a mirror takes writes from one side only) are published to the
/// origin, and the mirror server is started again: the time until its stream holds every message, and the bytes.
/// </summary>
internal static class NatsMirrorAnchor
{
    private const string Stream = "readings";
    private const int InFlight = 64;

    public static async Task<CatchUpRun> RunAsync(CatchUpWorkload workload, TimeSpan quiet)
    {
        Console.WriteLine($"Anchor: {ServerVersion.Nats()}, JetStream file storage: stream '{Stream}' (subjects grid.>) on the origin server (core 0), its mirror on a second server (core 1) that is the origin's leaf node through a counting TCP relay; domains 'origin' and 'mirror', the mirror reading $JS.origin.API");
        await using var link = new LinkProxy();
        await using var origin = await NatsServerUnderTest.StartAsync("w8-origin", core: 0, domain: "origin", leafListen: true);
        link.Target = new IPEndPoint(IPAddress.Loopback, origin.LeafPort);
        await using var mirror = await NatsServerUnderTest.StartAsync("w8-mirror", core: 1, domain: "mirror", leafRemote: link.Port);
        await using var load = new NatsConnection(new NatsOpts { Url = origin.Url, Name = "w8-load" });
        var js = new NatsJSContext(load);
        await js.CreateStreamAsync(new StreamConfig { Name = Stream, Subjects = ["grid.>"], Storage = StreamConfigStorage.File });
        await ReplicationCommand.WaitAsync(async () => await LeafCountAsync(origin) > 0, TimeSpan.FromSeconds(30), "the mirror server's leaf link");
        await using (var m = await ConnectAsync(mirror))
        {
            await new NatsJSContext(m).CreateStreamAsync(new StreamConfig
            {
                Name = Stream,
                Storage = StreamConfigStorage.File,
                Mirror = new StreamSource { Name = Stream, External = new ExternalStreamSource { Api = "$JS.origin.API" } },
            });
        }

        var fill = Stopwatch.StartNew();
        await PublishAsync(js, workload.Stored());
        var written = fill.Elapsed.TotalSeconds;
        var messages = workload.MessagesStored;
        await using (var m = await ConnectAsync(mirror))
            await WaitMirrorAsync(new NatsJSContext(m), 0, messages, fill, TimeSpan.FromHours(2));
        var originInfo = (await js.GetStreamAsync(Stream)).Info.State;
        Console.WriteLine($"  fill: the origin took {workload.StoredPoints:N0} points ({messages:N0} messages) in {written:F1} s ({workload.StoredPoints / written:N0}/s, {InFlight} in flight); the mirror held them all {fill.Elapsed.TotalSeconds - written:F1} s later; the stream keeps {originInfo.Bytes / (double)workload.StoredPoints:F2} B per point; peak memory origin {Mib(origin.PeakMemory())}, mirror {Mib(mirror.PeakMemory())}");

        await Task.Delay(TimeSpan.FromSeconds(3));
        var quietBefore = link.BytesToTarget + link.BytesFromTarget;
        await Task.Delay(quiet);
        var quietBytes = link.BytesToTarget + link.BytesFromTarget - quietBefore;
        Console.WriteLine($"  in sync ({quiet.TotalSeconds:0} s watched): {quietBytes:N0} B both ways on the leaf link (the mirror consumer's heartbeats and flow control, pings)");

        var cuts = new List<CutCatchUp>();
        for (var cut = 0; cut < workload.CutSeconds.Count; cut++)
        {
            await mirror.KillAsync();
            await ReplicationCommand.WaitAsync(async () => await LeafCountAsync(origin) == 0, TimeSpan.FromSeconds(30), "the origin to see the leaf link down");
            var write = Stopwatch.StartNew();
            await PublishAsync(js, workload.CutAtA(cut).Concat(workload.CutAtB(cut)));
            var writeSeconds = write.Elapsed.TotalSeconds;
            var held = messages;
            messages += workload.MessagesOfCut(cut);
            var points = workload.PointsAtA(cut) + workload.PointsAtB(cut);
            var wireBefore = link.BytesToTarget + link.BytesFromTarget;
            origin.ResetPeakMemory();

            var started = Stopwatch.StartNew();
            await mirror.StartAgainAsync();
            await ReplicationCommand.WaitAsync(async () => await LeafCountAsync(origin) > 0, TimeSpan.FromSeconds(60), "the mirror server's leaf link");
            var linkSeconds = started.Elapsed.TotalSeconds;
            double moved;
            await using (var m = await ConnectAsync(mirror))
                moved = await WaitMirrorAsync(new NatsJSContext(m), held, messages, started, TimeSpan.FromHours(2));
            var seconds = started.Elapsed.TotalSeconds;
            var wire = link.BytesToTarget + link.BytesFromTarget - wireBefore;
            var leaf = (await origin.MonitorAsync("/leafz")).GetProperty("leafs")[0];
            var own = leaf.GetProperty("in_bytes").GetInt64() + leaf.GetProperty("out_bytes").GetInt64();
            var result = new CutCatchUp(CatchUpCommand.Span(workload.CutSeconds[cut]), seconds, linkSeconds, points, wire, own, moved);
            cuts.Add(result);
            Console.WriteLine($"  cut {result.Cut}: mirror server killed; the origin took {points:N0} points ({workload.MessagesOfCut(cut):N0} messages) in {writeSeconds:F1} s");
            Console.WriteLine($"    mirror started again: leaf link up after {linkSeconds:F2} s, the first new message in the mirror after {moved:F2} s, every one after {seconds:F2} s ({points / seconds:N0} points/s from the start, {points / Math.Max(0.001, result.CatchUpSeconds):N0} from the link)");
            Console.WriteLine($"    wire: {wire:N0} B through the relay, {result.WirePerPoint:F2} B per point; /leafz counts {own:N0} B of messages ({own / (double)points:F2} B per point)");
            Console.WriteLine($"    peak memory during the catch-up: origin {Mib(origin.PeakMemory())}, mirror {Mib(mirror.PeakMemory())} (since its start)");
        }

        return new CatchUpRun(quiet.TotalSeconds, quietBytes, cuts);
    }

    private static string Mib(long bytes) => $"{bytes / 1048576.0:F0} MiB";

    private static async Task<NatsConnection> ConnectAsync(NatsServerUnderTest server)
    {
        var connection = new NatsConnection(new NatsOpts { Url = server.Url, Name = "w8-check" });
        await connection.ConnectAsync();
        return connection;
    }

    private static async Task<int> LeafCountAsync(NatsServerUnderTest server) =>
        (await server.MonitorAsync("/leafz")).GetProperty("leafnodes").GetInt32();

    /// <summary>Every message published, each acknowledged by the origin's stream, <see cref="InFlight"/> at a time.</summary>
    private static Task PublishAsync(NatsJSContext js, IEnumerable<ReadingBatch> batches) =>
        CatchUpCommand.SendAllAsync(batches, InFlight, async batch =>
            (await js.PublishAsync($"grid.{batch.Device}.batch", batch.Payload)).EnsureSuccess());

    /// <summary>Until the mirror holds <paramref name="messages"/>.</summary>
    /// <returns>When (on <paramref name="clock"/>) it first held more than <paramref name="from"/>.</returns>
    private static async Task<double> WaitMirrorAsync(NatsJSContext mirror, long from, long messages, Stopwatch clock, TimeSpan timeout)
    {
        var moved = 0.0;
        while (true)
        {
            var held = (await mirror.GetStreamAsync(Stream)).Info.State.Messages;
            if (held > from && moved == 0)
                moved = clock.Elapsed.TotalSeconds;
            if (held >= messages)
                return moved;
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout.TotalMinutes:0} min for the mirror to hold {messages:N0} messages");
            await Task.Delay(50);
        }
    }
}
