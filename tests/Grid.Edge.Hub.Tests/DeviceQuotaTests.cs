using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Testing;
using MQTTnet;
using MQTTnet.Formatter;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Per-device caps over real MQTT: a device over its series cap or its rate gets those readings refused with their own
/// reasons (MQTT 5: PUBACK 0x97) while what it stored stays and other devices go on; the rejection log stays bounded
/// whatever names a client makes up.
/// </summary>
public sealed class DeviceQuotaTests : IDisposable
{
    private const long T0 = 1_795_330_000_000;
    private const string Password = "quota-test-password";
    private static readonly string[] Users = ["series-a", "series-b", "rate-a", "rate-b", "flooder"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<InProcessHub> StartHubAsync()
    {
        var hash = PasswordHash.Create(Password, iterations: 1000);
        var settings = new Dictionary<string, string?>
        {
            ["Hub:MaxSeriesPerDevice"] = "3",
            ["Hub:MaxDeviceRate"] = "1", // a budget of 30 readings, refilled by one a second
        };
        foreach (var user in Users)
            settings[$"Hub:Users:{user}"] = hash;
        return InProcessHub.StartAsync(settings, _dir.Path);
    }

    private static Task<IMqttClient> ConnectAsAsync(InProcessHub hub, string user) =>
        TestMqtt.ConnectAsync(hub.Mqtt, clientId: user, user: user, password: Password);

    private static string Batch(params (string Metric, long T, double V)[] readings) =>
        "{\"readings\":[" + string.Join(",", readings.Select(r => string.Create(CultureInfo.InvariantCulture, $"{{\"m\":\"{r.Metric}\",\"v\":{r.V},\"t\":{r.T}}}"))) + "]}";

    private static async Task<IReadOnlyList<double[]>> PointsAsync(InProcessHub hub, string series)
    {
        using var response = await hub.Http.GetAsync($"/api/series/{series}/points?from=0&to=now");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return [];
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!.Points;
    }

    private static async Task<long> RejectedAsync(InProcessHub hub, string sender, string reason) =>
        (await hub.GetAsync<RejectionsResponse>("/api/ingest/rejections"))!.Counts.Where(c => c.Device == sender && c.Reason == reason).Sum(c => c.Count);

    [Fact]
    public async Task A_device_over_its_series_cap_gets_new_series_refused_while_its_stored_data_and_other_devices_go_on()
    {
        await using (var hub = await StartHubAsync())
        {
            using var device = await ConnectAsAsync(hub, "series-a");
            var first = await device.PublishAsync("grid/series-a/batch", Batch(("level_1", T0, 1), ("level_2", T0, 2), ("level_3", T0, 3)));
            Assert.True(first.IsSuccess);

            // Its existing series still take readings; the two new ones are refused, the message as a whole is acknowledged.
            var mixed = await device.PublishAsync("grid/series-a/batch", Batch(("level_1", T0 + 1000, 11), ("level_4", T0, 4), ("level_5", T0, 5)));
            Assert.True(mixed.IsSuccess, mixed.ReasonCode.ToString());

            // Nothing of this one could be stored: MQTT 5 says why, so the device can keep it and send it later.
            var refused = await device.PublishAsync("grid/series-a/level_6", "6");
            Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, refused.ReasonCode);

            Assert.Equal([[T0, 1.0], [T0 + 1000, 11.0]], await PointsAsync(hub, "series-a/level_1"));
            Assert.Equal([[T0, 3.0]], await PointsAsync(hub, "series-a/level_3"));
            Assert.Empty(await PointsAsync(hub, "series-a/level_4"));
            Assert.Empty(await PointsAsync(hub, "series-a/level_6"));
            Assert.Equal(3, await RejectedAsync(hub, "series-a", "series_limit"));
            var detail = (await hub.GetAsync<RejectionsResponse>("/api/ingest/rejections?device=series-a"))!.Recent.First(r => r.Reason == "series_limit").Detail;
            Assert.Contains("has 3 series, the most one device may have (3)", detail, StringComparison.Ordinal);

            // Another device has its own room.
            using var neighbour = await ConnectAsAsync(hub, "series-b");
            var other = await neighbour.PublishAsync("grid/series-b/batch", Batch(("level_1", T0, 1), ("level_2", T0, 2), ("level_3", T0, 3)));
            Assert.True(other.IsSuccess);
            Assert.Equal([[T0, 3.0]], await PointsAsync(hub, "series-b/level_3"));
            Assert.Equal(0, await RejectedAsync(hub, "series-b", "series_limit"));
        }

        // The cap counts the store's series, so a restart does not hand out new room.
        await using var restarted = await StartHubAsync();
        using var again = await ConnectAsAsync(restarted, "series-a");
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, (await again.PublishAsync("grid/series-a/level_7", "7")).ReasonCode);
        Assert.True((await again.PublishAsync("grid/series-a/level_2", """{"v":22,"t":1795330002000}""")).IsSuccess);
        Assert.Equal([[T0, 2.0], [T0 + 2000, 22.0]], await PointsAsync(restarted, "series-a/level_2"));
    }

    [Fact]
    public async Task A_device_over_its_rate_gets_its_messages_refused_while_its_stored_data_and_other_devices_go_on()
    {
        await using var hub = await StartHubAsync();
        using var device = await ConnectAsAsync(hub, "rate-a");
        var burst = Enumerable.Range(0, 30).Select(i => ("level", T0 + (i * 1000L), (double)i)).ToArray();
        Assert.True((await device.PublishAsync("grid/rate-a/batch", Batch(burst))).IsSuccess);

        // The budget of 30 is spent; 20 more would take 20 s to earn.
        var more = Enumerable.Range(30, 20).Select(i => ("level", T0 + (i * 1000L), (double)i)).ToArray();
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, (await device.PublishAsync("grid/rate-a/batch", Batch(more))).ReasonCode);

        // An MQTT 3.1.1 client of the same user shares the budget (and gets a plain PUBACK: 3.1.1 has no reason codes).
        using var old = await TestMqtt.ConnectAsync(hub.Mqtt, clientId: "rate-a:v3", version: MqttProtocolVersion.V311, user: "rate-a", password: Password);
        await old.PublishAsync("grid/rate-a/batch", Batch(Enumerable.Range(50, 5).Select(i => ("level", T0 + (i * 1000L), (double)i)).ToArray()));

        Assert.Equal(25, await RejectedAsync(hub, "rate-a", "rate_limited"));
        var stored = await PointsAsync(hub, "rate-a/level");
        Assert.Equal(burst.Select(r => new[] { (double)r.Item2, r.Item3 }), stored);

        using var neighbour = await ConnectAsAsync(hub, "rate-b");
        Assert.True((await neighbour.PublishAsync("grid/rate-b/batch", Batch(burst))).IsSuccess);
        Assert.Equal(30, (await PointsAsync(hub, "rate-b/level")).Count);
        Assert.Equal(0, await RejectedAsync(hub, "rate-b", "rate_limited"));
    }

    [Fact]
    public async Task Rejection_log_senders_stay_bounded_under_a_flood_of_made_up_names()
    {
        await using var hub = await StartHubAsync();

        // An anonymous client (from this machine) makes up a device name for every message.
        using (var anonymous = await TestMqtt.ConnectAsync(hub.Mqtt))
        {
            for (var i = 0; i < RejectionLog.DefaultMaxSenders + 500; i++)
                await anonymous.PublishAsync($"grid/made-up-{i}/level", "not a number");
        }

        // An authenticated device does the same: refused by the ACL, and all of it is counted against the user.
        using (var flooder = await ConnectAsAsync(hub, "flooder"))
        {
            for (var i = 0; i < 300; i++)
                await flooder.PublishAsync($"grid/other-{i}/level", "1");
        }

        var rejections = (await hub.GetAsync<RejectionsResponse>("/api/ingest/rejections"))!;
        var senders = rejections.Counts.Select(c => c.Device).Distinct().ToList();
        Assert.InRange(senders.Count, 2, RejectionLog.DefaultMaxSenders + 2);
        Assert.Equal(500, rejections.Counts.Single(c => c.Device == RejectionLog.OtherSenders).Count);
        Assert.Equal(300, rejections.Counts.Single(c => c.Device == "flooder" && c.Reason == "not_authorized").Count);
        Assert.Equal(RejectionLog.DefaultMaxSenders + 500 + 300, rejections.Total);
        Assert.Equal(RejectionLog.DefaultCapacity, rejections.Recent.Count);
        Assert.DoesNotContain(senders, s => s.StartsWith("other-", StringComparison.Ordinal));
    }

    [Fact]
    public void Rejection_texts_are_clipped_and_made_up_senders_share_one_count_beyond_the_cap()
    {
        var log = new RejectionLog(Microsoft.Extensions.Logging.Abstractions.NullLogger<RejectionLog>.Instance, TimeProvider.System, capacity: 10, maxSenders: 5);
        var longName = new string('x', 70_000);
        for (var i = 0; i < 50; i++)
            log.Record($"grid/d{i}/{longName}", new(Protocol.Readings.RejectReason.BadTopic, longName, "d" + i, null), longName);
        log.Record("grid/dev/x", new(Protocol.Readings.RejectReason.BadMetric, "bad", "dev", null), "c", user: "dev");

        Assert.Equal(5 + 1 + 1, log.SenderCount); // five made-up names, the shared count, one user
        Assert.Equal(45, log.Counts().Single(c => c.Device == RejectionLog.OtherSenders).Count);
        Assert.All(log.Recent(), r => Assert.True(r.Topic.Length < 400 && r.Detail.Length < 400 && (r.ClientId?.Length ?? 0) < 400));
        var total = Encoding.UTF8.GetByteCount(string.Concat(log.Recent().Select(r => r.Topic + r.Detail + r.ClientId)));
        Assert.True(total < 10 * 1200, $"the kept rejections hold {total} bytes of text");
    }
}
