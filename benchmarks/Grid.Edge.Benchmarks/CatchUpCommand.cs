using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Grid.Edge.Benchmarks;

/// <summary>
/// DESIGN.md W8, partition and anti-entropy: two hubs in a grid hold the same stored points; then, for each cut,
/// the link between them is cut (a TCP relay between them resets it and refuses connections), both take writes for
/// a span of data time (site A every series, site B its own devices and some of A's series at the same times), and
/// the link is healed: the time until both hold the same (equal digests), the bytes that crossed per point written
/// apart against the bytes per point of the store, and each hub's peak memory. Also what the link costs while in
/// sync. The anchor, in the same run: the same readings through a JetStream stream mirrored between two
/// nats-server processes (<see cref="NatsMirrorAnchor"/>). The no-log case (d missing with no delta log) is the
/// <c>reconcile</c> command.
/// </summary>
internal static class CatchUpCommand
{
    /// <summary>How long the link is watched while both sides are in sync, for what it costs at rest.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(10);

    /// <summary>The hub's sync timer: each hub sends its version vector to each peer this often.</summary>
    private static readonly TimeSpan SyncTick = TimeSpan.FromSeconds(2);

    private const int HubInFlight = 4;
    private const long CatchUpAnswerBytes = 4 << 20;

    public static async Task<int> RunAsync(string hubDll, int series, long stored, IReadOnlyList<int> cuts, bool anchor)
    {
        if (anchor && !File.Exists(NatsServerUnderTest.Program))
        {
            Console.Error.WriteLine($"error: {NatsServerUnderTest.Program} is missing: apt-get install nats-server (or leave the anchor out: --no-nats)");
            return 1;
        }

        var w = new CatchUpWorkload(series, stored, cuts, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Console.WriteLine($"W8 partition and catch-up: {w.StoredPoints:N0} points stored in sync ({w.Series} series of {w.Devices} devices at site A, {w.StoredSeconds:N0} s at 1 Hz), then link cuts of {string.Join(", ", cuts.Select(Span))} of data time");
        Console.WriteLine($"  during a cut A writes each of its {w.Series} series at 1 Hz; B its own {w.DevicesAtB * w.Metrics} series and the {w.Metrics} of A's dev000 at the same times with other values (overlapping writes); each as fast as it takes them, JSON batches of {w.StepsPerMessage * w.Metrics} readings, QoS 1, {HubInFlight} in flight");
        Console.WriteLine("  d in {0, 1, 100, 10 k} missing points with no log (range-based reconciliation, round trips and bytes / ideal): the 'reconcile' command");
        var hubs = await HubsAsync(hubDll, w);
        var nats = anchor ? await NatsMirrorAnchor.RunAsync(w, Quiet) : null;
        Print(hubs, nats);
        return 0;
    }

    internal static string Span(int seconds) =>
        seconds % 3600 == 0 ? $"{seconds / 3600}h" : seconds % 60 == 0 ? $"{seconds / 60}m" : $"{seconds}s";

    /// <summary>Every item through <paramref name="send"/>, <paramref name="inFlight"/> at a time, in order.</summary>
    internal static async Task SendAllAsync<T>(IEnumerable<T> items, int inFlight, Func<T, Task> send)
    {
        var pending = new Queue<Task>();
        foreach (var item in items)
        {
            if (pending.Count >= inFlight)
                await pending.Dequeue();
            pending.Enqueue(send(item));
        }

        while (pending.Count > 0)
            await pending.Dequeue();
    }

    private static async Task<CatchUpRun> HubsAsync(string hubDll, CatchUpWorkload w)
    {
        Console.WriteLine("Grid.Edge hubs: A on core 0, B on core 1 with this tool; --discovery off, B dials A (--peer) through a counting TCP relay, which cuts the link");
        await using var link = new LinkProxy();
        await using var a = await BrokerUnderTest.StartHubAsync(hubDll, core: 0, "--discovery", "off");
        using var httpA = a.NewHttpClient(TimeSpan.FromMinutes(10));
        var aId = await ReplicationCommand.HubIdAsync(httpA);
        link.Target = IPEndPoint.Parse(a.GridAddress);
        await using var b = await BrokerUnderTest.StartHubAsync(hubDll, core: 1, "--discovery", "off", "--peer", $"{aId}@127.0.0.1:{link.Port}");
        using var httpB = b.NewHttpClient(TimeSpan.FromMinutes(10));
        var bId = await ReplicationCommand.HubIdAsync(httpB);
        await ReplicationCommand.HubCliAsync(hubDll, "grid", "create", "--name", "w8", "--data-dir", a.DataDirectory);
        var invitation = await ReplicationCommand.HubCliAsync(hubDll, "grid", "invite", "--data-dir", a.DataDirectory);
        var code = invitation.Split('\n', StringSplitOptions.TrimEntries).First(l => l.StartsWith("grid1-", StringComparison.Ordinal));
        await ReplicationCommand.HubCliAsync(hubDll, "grid", "join", code, "--data-dir", b.DataDirectory);
        await ReplicationCommand.WaitAsync(async () => link.Connections > 0 && await StateAsync(httpA, bId) == "up" && await StateAsync(httpB, aId) == "up", TimeSpan.FromSeconds(60), "the link A-B through the relay");

        // The stored points: A takes them, B gets them over the live link.
        var fill = Stopwatch.StartNew();
        await PublishAsync(a, "w8-a", w.Stored());
        var written = fill.Elapsed.TotalSeconds;
        await WaitPointsAsync(httpA, w.StoredWindow, w.StoredPoints, "A");
        await WaitSameAsync(httpA, httpB, w.StoredWindow, w.StoredPoints, TimeSpan.FromHours(2), "B to hold the stored points");
        Console.WriteLine($"  fill: A took {w.StoredPoints:N0} points in {written:F1} s ({w.StoredPoints / written:N0}/s); B held the same (equal digests) {fill.Elapsed.TotalSeconds - written:F1} s after the last was acknowledged; peak memory A {Mib(a.PeakMemory())}, B {Mib(b.PeakMemory())}");

        var store = await StoreBytesPerPointAsync(httpA);
        Console.WriteLine($"  A's store after a checkpoint: {store.Chunks:F2} B per point in its chunks (the compressed points), {store.OnDisk:F2} B per point on disk");
        var quietRelay = await QuietAsync(link, httpA, bId, "in sync after the fill");

        var cuts = new List<CutCatchUp>();
        var peakA = a.PeakMemory();
        var peakB = b.PeakMemory();
        for (var cut = 0; cut < w.CutSeconds.Count; cut++)
        {
            var window = w.CutWindow(cut);
            link.Cut();
            await ReplicationCommand.WaitAsync(async () => await StateAsync(httpA, bId) == "down" && await StateAsync(httpB, aId) == "down", TimeSpan.FromSeconds(30), "both hubs to see the link down");
            var deltasBefore = await DeltasAsync(httpA, httpB, aId, bId);
            var write = Stopwatch.StartNew();
            await Task.WhenAll(PublishAsync(a, "w8-a", w.CutAtA(cut)), PublishAsync(b, "w8-b", w.CutAtB(cut)));
            var writeSeconds = write.Elapsed.TotalSeconds;
            await WaitPointsAsync(httpA, window, w.PointsAtA(cut), "A");
            await WaitPointsAsync(httpB, window, w.PointsAtB(cut), "B");

            // A burst beyond what the grid queues is found again in the store on the next sync tick: the deltas of a
            // cut an hour long would have been written long before it healed, so the clock starts once they are.
            var settled = await Task.WhenAll(SettledAsync(httpA), SettledAsync(httpB));
            var settleSeconds = settled.Max();
            var deferred = $"{await DeferredAsync(httpA):N0} at A, {await DeferredAsync(httpB):N0} at B";

            var before = await CountersAsync(httpA, bId);
            var relay = (To: link.BytesToTarget, From: link.BytesFromTarget);
            peakA = Math.Max(peakA, a.PeakMemory());
            peakB = Math.Max(peakB, b.PeakMemory());
            var (rssA, rssB) = (ChildProcesses.ResidentMemory(a.ProcessId), ChildProcesses.ResidentMemory(b.ProcessId));
            var reset = a.ResetPeakMemory() & b.ResetPeakMemory();
            var healed = Stopwatch.StartNew();
            link.Heal();
            await ReplicationCommand.WaitAsync(async () => await StateAsync(httpA, bId) == "up", TimeSpan.FromMinutes(2), "the link to come back");
            var linkSeconds = healed.Elapsed.TotalSeconds;
            await WaitSameAsync(httpA, httpB, window, w.PointsMerged(cut), TimeSpan.FromHours(2), "both hubs to hold the cut's points");
            var seconds = healed.Elapsed.TotalSeconds;
            var after = await CountersAsync(httpA, bId);
            var deltas = await DeltasAsync(httpA, httpB, aId, bId) - deltasBefore;
            var (toB, toA) = (link.BytesFromTarget - relay.From, link.BytesToTarget - relay.To);
            var (memA, memB) = (a.PeakMemory(), b.PeakMemory());
            peakA = Math.Max(peakA, memA);
            peakB = Math.Max(peakB, memB);
            store = await StoreBytesPerPointAsync(httpA);
            var points = w.PointsAtA(cut) + w.PointsAtB(cut);
            var (syncOut, syncIn) = (after.Out - before.Out, after.In - before.In);
            var result = new CutCatchUp(Span(w.CutSeconds[cut]), seconds, linkSeconds, points, toA + toB, syncOut + syncIn);
            cuts.Add(result);
            var sync = result.OwnBytes / (double)points;
            Console.WriteLine($"  cut {result.Cut}: link down; A took {w.PointsAtA(cut):N0} points and B {w.PointsAtB(cut):N0} ({w.Metrics} series of A's at the same times) in {writeSeconds:F1} s; the last of their deltas written {settleSeconds:F1} s later (write batches left to the store scan: {deferred})");
            Console.WriteLine($"    healed: link up after {linkSeconds:F2} s, equal digests after {seconds:F2} s ({w.PointsMerged(cut):N0} points each; {points / seconds:N0} points/s from the heal, {points / Math.Max(0.001, result.CatchUpSeconds):N0} from the link; target >= 1,000,000/s)");
            Console.WriteLine($"    sync messages A->B {syncOut:N0} B, B->A {syncIn:N0} B: {sync:F2} B per point written apart, {sync / store.Chunks:F2}x the {store.Chunks:F2} B per point of A's chunks (target <= 1.5x), {sync / store.OnDisk:F2}x its {store.OnDisk:F2} B per point on disk; through the relay {toB:N0} + {toA:N0} B, {result.WirePerPoint:F2} B per point ({result.WirePerPoint / store.Chunks:F2}x)");
            var again = deltas.InAtB - deltas.AuthoredAtA + deltas.InAtA - deltas.AuthoredAtB;
            Console.WriteLine($"    deltas: A wrote {deltas.AuthoredAtA:N0} during the cut and B took {deltas.InAtB:N0}; B wrote {deltas.AuthoredAtB:N0} and A took {deltas.InAtA:N0} ({(again > 0 ? $"{again:N0} sent again" : "none sent twice")})");
            Console.WriteLine($"    round trips: not counted by the hub; answers of at most {CatchUpAnswerBytes / 1048576} MiB make at least {Rounds(syncOut)} A->B and {Rounds(syncIn)} B->A");
            Console.WriteLine(reset
                ? $"    peak memory during the catch-up: A {Mib(memA)}, B {Mib(memB)} (resident at the heal: {Mib(rssA)}, {Mib(rssB)}); over the run so far A {Mib(peakA)}, B {Mib(peakB)} (target <= 150 MB)"
                : $"    peak memory over the run so far (the peak could not be reset here): A {Mib(peakA)}, B {Mib(peakB)} (target <= 150 MB)");
        }

        if (w.CutSeconds.Count > 0)
            await QuietAsync(link, httpA, bId, "in sync after the cuts");
        var whole = (w.StoredWindow.From, w.CutSeconds.Count > 0 ? w.CutWindow(w.CutSeconds.Count - 1).To : w.StoredWindow.To);
        var (pointsA, digestA) = await DigestAsync(httpA, whole.From, whole.Item2);
        var (_, digestB) = await DigestAsync(httpB, whole.From, whole.Item2);
        if (digestA != digestB)
            throw new InvalidOperationException("the hubs ended with different content over the whole run");
        Console.WriteLine($"  end: both hubs hold the same {pointsA:N0} points (equal digests over the whole run)");
        return new CatchUpRun(Quiet.TotalSeconds, quietRelay, cuts);
    }

    /// <summary>What the link costs at rest, both in sync: each hub sends its version vector every sync tick; equal digests get no answer.</summary>
    /// <returns>The bytes through the relay, both ways.</returns>
    private static async Task<long> QuietAsync(LinkProxy link, HttpClient httpA, string bId, string when)
    {
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = await CountersAsync(httpA, bId);
        var relayBefore = link.BytesToTarget + link.BytesFromTarget;
        await Task.Delay(Quiet);
        var after = await CountersAsync(httpA, bId);
        var relay = link.BytesToTarget + link.BytesFromTarget - relayBefore;
        var ticks = Quiet / SyncTick;
        var (sent, taken) = (after.Out - before.Out, after.In - before.In);
        Console.WriteLine($"  {when} ({Quiet.TotalSeconds:0} s watched, {ticks:0} sync ticks): sync messages A->B {sent:N0} B, B->A {taken:N0} B, {sent / ticks:N0} and {taken / ticks:N0} B a tick (each hub's whole version vector every {SyncTick.TotalSeconds:0} s, no answer while equal); {relay:N0} B through the relay with link pings and CurveZMQ. Target: 1 round trip, <= 1 KB");
        return relay;
    }

    /// <summary>The store checkpointed (log empty, every bucket written): bytes per point in its chunks (the engine's compressed points) and on disk.</summary>
    private static async Task<(double Chunks, double OnDisk)> StoreBytesPerPointAsync(HttpClient http)
    {
        (await http.PostAsync("/api/storage/checkpoint", null)).EnsureSuccessStatusCode();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var storage = await http.GetFromJsonAsync<JsonElement>("/api/storage");
            if ((storage.GetProperty("dirtyBuckets").GetInt32() == 0 && storage.GetProperty("logBytes").GetInt64() == 0) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var series = storage.GetProperty("series").EnumerateArray().ToList();
                var chunkBytes = series.Sum(s => s.GetProperty("rawBytes").GetInt64());
                var chunkPoints = series.Sum(s => s.GetProperty("rawPoints").GetInt64());
                return (chunkBytes / (double)Math.Max(1, chunkPoints), storage.GetProperty("bytesOnDiskPerPoint").GetDouble());
            }

            await Task.Delay(100);
        }
    }

    private static long Rounds(long bytes) => Math.Max(bytes > 0 ? 1 : 0, (bytes + CatchUpAnswerBytes - 1) / CatchUpAnswerBytes);

    private static string Mib(long bytes) => $"{bytes / 1048576.0:F0} MiB";

    private static void Print(CatchUpRun hubs, CatchUpRun? nats)
    {
        Console.WriteLine();
        if (nats is null)
        {
            Console.WriteLine("| cut | points written apart | hub: equal digests after the heal | of which link up | B per point through the relay |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var cut in hubs.Cuts)
                Console.WriteLine($"| {cut.Cut} | {cut.Points:N0} | {cut.Seconds:F2} s | {cut.LinkSeconds:F2} s | {cut.WirePerPoint:F2} |");
            return;
        }

        Console.WriteLine("| cut | points written apart | hub: equal digests after the heal (link up) | NATS: mirror complete after its start (leaf up; first message) | time hub / NATS | the same from the link up | B per point through the relay: hub | NATS | bytes hub / NATS |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (hub, anchor) in hubs.Cuts.Zip(nats.Cuts))
        {
            Console.WriteLine($"| {hub.Cut} | {hub.Points:N0} | {hub.Seconds:F2} s ({hub.LinkSeconds:F2} s) | {anchor.Seconds:F2} s ({anchor.LinkSeconds:F2} s; {anchor.FirstSeconds:F2} s) | {Ratio(hub.Seconds, anchor.Seconds)} | {Ratio(hub.CatchUpSeconds, anchor.CatchUpSeconds)} | {hub.WirePerPoint:F2} | {anchor.WirePerPoint:F2} | {Ratio(hub.WireBytes, anchor.WireBytes)} |");
        }

        Console.WriteLine($"| in sync, {hubs.QuietSeconds:0} s | | {hubs.QuietBytes:N0} B through the relay | {nats.QuietBytes:N0} B | | | | | {Ratio(hubs.QuietBytes, nats.QuietBytes)} |");
        Console.WriteLine("Totals include the hubs' redial after the heal and the mirror server's start; 'from the link up' leaves those out.");
    }

    private static string Ratio(double hub, double anchor) => anchor > 0 ? $"{hub / anchor:F2}x" : "-";

    private static async Task<string?> StateAsync(HttpClient http, string peer) =>
        (await ReplicationCommand.PeerAsync(http, peer))?.GetProperty("state").GetString();

    /// <summary>Sync message bytes this hub sent the peer and took from it (its peer counters).</summary>
    private static async Task<(long Out, long In)> CountersAsync(HttpClient http, string peer)
    {
        var view = await ReplicationCommand.PeerAsync(http, peer) ?? throw new InvalidOperationException("the peer is not listed");
        return (view.GetProperty("bytesOut").GetInt64(), view.GetProperty("bytesIn").GetInt64());
    }

    /// <summary>Deltas each hub wrote (since the last snapshot: before the cut's writes) and took from the other.</summary>
    private static async Task<DeltaCounts> DeltasAsync(HttpClient httpA, HttpClient httpB, string aId, string bId)
    {
        static async Task<(long Authored, long In)> Of(HttpClient http, string peer)
        {
            var links = (await http.GetFromJsonAsync<JsonElement>("/api/grid")).GetProperty("links");
            var view = await ReplicationCommand.PeerAsync(http, peer) ?? throw new InvalidOperationException("the peer is not listed");
            return (links.GetProperty("deltasAuthored").GetInt64(), view.GetProperty("deltasIn").GetInt64());
        }

        var (authoredA, inA) = await Of(httpA, bId);
        var (authoredB, inB) = await Of(httpB, aId);
        return new DeltaCounts(authoredA, inA, authoredB, inB);
    }

    private readonly record struct DeltaCounts(long AuthoredAtA, long InAtA, long AuthoredAtB, long InAtB)
    {
        public static DeltaCounts operator -(DeltaCounts x, DeltaCounts y) =>
            new(x.AuthoredAtA - y.AuthoredAtA, x.InAtA - y.InAtA, x.AuthoredAtB - y.AuthoredAtB, x.InAtB - y.InAtB);
    }

    private static async Task<long> DeferredAsync(HttpClient http)
    {
        var links = (await http.GetFromJsonAsync<JsonElement>("/api/grid")).GetProperty("links");
        return links.TryGetProperty("refusals", out var refusals) && refusals.TryGetProperty("own write batches deferred to the store scan", out var count) ? count.GetInt64() : 0;
    }

    /// <summary>Until the hub's count of deltas it wrote stays put for two sync ticks.</summary>
    /// <returns>Seconds until the count last moved.</returns>
    private static async Task<double> SettledAsync(HttpClient http)
    {
        var last = -1L;
        var lastMoved = 0.0;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var authored = (await http.GetFromJsonAsync<JsonElement>("/api/grid")).GetProperty("links").GetProperty("deltasAuthored").GetInt64();
            if (authored != last)
            {
                last = authored;
                lastMoved = clock.Elapsed.TotalSeconds;
            }
            else if (clock.Elapsed.TotalSeconds - lastMoved >= 2 * SyncTick.TotalSeconds)
            {
                return lastMoved;
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(30))
                throw new TimeoutException("waited 30 min for the hub to write its deltas");
            await Task.Delay(250);
        }
    }

    private static async Task PublishAsync(BrokerUnderTest hub, string clientId, IEnumerable<ReadingBatch> batches)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.MqttPort).WithClientId(clientId).WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(60)).Build());
        await SendAllAsync(batches, HubInFlight, async batch =>
        {
            var sent = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"grid/{batch.Device}/batch").WithPayload(batch.Payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            if (!sent.IsSuccess)
                throw new InvalidOperationException($"the hub refused a batch of {batch.Device}: {sent.ReasonCode} {sent.ReasonString}");
        });
        await client.DisconnectAsync();
    }

    private static async Task<(long Points, string Digest)> DigestAsync(HttpClient http, long from, long to)
    {
        var answer = await http.GetFromJsonAsync<JsonElement>(string.Create(CultureInfo.InvariantCulture, $"/api/grid/digest?from={from}&to={to}"));
        return (answer.GetProperty("points").GetInt64(), answer.GetProperty("digest").GetString()!);
    }

    private static Task WaitPointsAsync(HttpClient http, (long From, long To) window, long points, string hub) =>
        ReplicationCommand.WaitAsync(async () => (await DigestAsync(http, window.From, window.To)).Points == points, TimeSpan.FromMinutes(2), $"{hub} to store its {points:N0} points");

    /// <summary>
    /// Until both hubs answer the same digest over the window, holding <paramref name="points"/> there. The window is
    /// asked in slices, in time order (a catch-up sends each stream's deltas in order), each again every 100 ms until
    /// it agrees: a SHA-256 over every point of the window at every poll would load hubs busy catching up. A slice
    /// that agrees stays agreed: each hub already holds its own writes, so equal content holds everyone's.
    /// </summary>
    private static async Task WaitSameAsync(HttpClient x, HttpClient y, (long From, long To) window, long points, TimeSpan timeout, string what)
    {
        var slice = Math.Max(60_000, (window.To - window.From + 31_999) / 32_000 * 1000);
        var deadline = Stopwatch.StartNew();
        long agreed = 0;
        for (var from = window.From; from < window.To;)
        {
            var to = Math.Min(window.To, from + slice);
            var answers = await Task.WhenAll(DigestAsync(x, from, to), DigestAsync(y, from, to));
            if (answers[0].Digest == answers[1].Digest)
            {
                agreed += answers[0].Points;
                from = to;
                continue;
            }

            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"waited {timeout.TotalMinutes:0} min for {what}");
            await Task.Delay(100);
        }

        if (agreed != points)
            throw new InvalidOperationException($"{what}: both hubs hold the same {agreed:N0} points, not the {points:N0} written");
    }
}
