using Grid.Edge.Hub.Testing;
using System.Net;
using System.Text;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet;
using MQTTnet.Protocol;

namespace Grid.Edge.Hub.Tests;

/// <summary>Real MQTT clients publish to the hub; the HTTP API must return exactly what was stored and why the rest was not.</summary>
public sealed class IngestApiTests(HubFixture fixture) : IClassFixture<HubFixture>
{
    private readonly InProcessHub _hub = fixture.Hub;

    private static string NewDevice() => "dev-" + Guid.NewGuid().ToString("N")[..10];

    private static long Ms(string rfc3339) => DateTimeOffset.Parse(rfc3339, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private Task<PointsResponse?> PointsAsync(string device, string metric, string query = "from=0&to=now") =>
        _hub.GetAsync<PointsResponse>($"/api/series/{device}/{metric}/points?{query}");

    private async Task<RejectionsResponse> RejectionsAsync(string device, int expected) =>
        await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<RejectionsResponse>($"/api/ingest/rejections?device={device}"))!,
            r => r.Total >= expected,
            $"{expected} rejections of {device}");

    [Fact]
    public async Task Single_readings_are_stored_with_converted_units_and_listed()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True((await client.PublishAsync($"grid/{device}/temperature", "21.5")).IsSuccess);
        Assert.True((await client.PublishAsync($"grid/{device}/pressure", """{"v":29.92,"unit":"inHg","t":"2026-11-22T09:00:00Z"}""")).IsSuccess);

        // QoS 1 acknowledged means stored: no waiting needed.
        var series = (await _hub.GetAsync<List<SeriesResponse>>("/api/series"))!.Where(s => s.Device == device).ToList();
        Assert.Equal(["pressure", "temperature"], series.Select(s => s.Metric));
        Assert.Equal("hPa", series[0].Unit);
        Assert.Equal(1013.2075, series[0].Latest.V);
        Assert.Equal(Ms("2026-11-22T09:00:00Z"), series[0].Latest.T);
        Assert.Equal(1, series[1].Count);
        Assert.Equal(21.5, series[1].Latest.V);
        Assert.InRange(series[1].Latest.T, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var points = (await PointsAsync(device, "pressure"))!;
        Assert.Equal("hPa", points.Unit);
        Assert.Equal([Ms("2026-11-22T09:00:00Z"), 1013.2075], Assert.Single(points.Points));
    }

    [Fact]
    public async Task A_batch_stores_its_valid_readings_and_the_api_lists_the_rejected_ones_with_reasons()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var payload = """
            {"readings":[
              {"m":"temperature","v":20.5,"t":"2026-11-22T08:00:00Z"},
              {"m":"temperature","v":21.0,"t":"2026-11-22T08:01:00Z"},
              {"m":"temperature","v":"warm","t":"2026-11-22T08:02:00Z"},
              {"m":"humidity","v":140,"t":"2026-11-22T08:00:00Z"},
              {"m":"humidity","v":55,"t":"2026-11-22T08:00:00Z","unit":"%"}
            ]}
            """;
        var result = await client.PublishAsync($"grid/{device}/batch", payload);
        Assert.True(result.IsSuccess);

        var temperature = (await PointsAsync(device, "temperature"))!;
        Assert.Equal([[Ms("2026-11-22T08:00:00Z"), 20.5], [Ms("2026-11-22T08:01:00Z"), 21.0]], temperature.Points);
        Assert.Equal([[Ms("2026-11-22T08:00:00Z"), 55.0]], (await PointsAsync(device, "humidity"))!.Points);

        var rejections = await RejectionsAsync(device, 2);
        Assert.Equal(2, rejections.Total);
        Assert.Equal(
            [new RejectionCount(device, "out_of_range", 1), new RejectionCount(device, "unparsable_payload", 1)],
            rejections.Counts);
        Assert.All(rejections.Recent, r => Assert.Equal($"grid/{device}/batch", r.Topic));
        Assert.Contains(rejections.Recent, r => r.Reason == "out_of_range" && r.Metric == "humidity" && r.Detail.Contains("plausible range", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_columns_message_is_stored_converted_counted_and_derived_from_like_readings()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t0 = Ms("2026-11-22T08:00:00Z");
        long[] times = [t0, t0 + 60_000, t0 + 120_000];
        var payload = new Grid.Edge.Protocol.Payloads.ColumnBatchWriter()
            .Add("temperature", "degF", times, [68, 69.8, 500])
            .Add("humidity", "%", times, [50, 55, 60])
            .ToArray();

        Assert.True((await client.PublishAsync($"grid/{device}/columns", payload)).IsSuccess);

        // Acknowledged means stored, converted to the metric's unit; the implausible point is refused with its reason.
        Assert.Equal([[t0, 20.0], [t0 + 60_000, 21.0]], (await PointsAsync(device, "temperature"))!.Points);
        Assert.Equal([[t0, 50.0], [t0 + 60_000, 55.0], [t0 + 120_000, 60.0]], (await PointsAsync(device, "humidity"))!.Points);
        var rejections = await RejectionsAsync(device, 1);
        Assert.Equal([new RejectionCount(device, "out_of_range", 1)], rejections.Counts);
        Assert.All(rejections.Recent, r => Assert.Equal($"grid/{device}/columns", r.Topic));

        // Stored columns reach the derived values like single readings do.
        var dewPoint = await Eventually.WaitForAsync(
            async () => (await _hub.GetOrNullAsync<PointsResponse>($"/api/series/{device}/dew_point/points?from=0&to=now"))?.Points ?? [],
            points => points.Count >= 2,
            "dew point derived from the columns");
        Assert.Equal(t0, dewPoint[0][0]);

        // The same message again stores nothing new; a damaged one is refused whole.
        Assert.True((await client.PublishAsync($"grid/{device}/columns", payload)).IsSuccess);
        Assert.Equal(2, (await PointsAsync(device, "temperature"))!.Points.Count);
        var damaged = await client.PublishAsync($"grid/{device}/columns", payload[..^3]);
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, damaged.ReasonCode);
        Assert.Contains((await RejectionsAsync(device, 1 + 3)).Recent, r => r.Reason == "unparsable_payload" && r.Detail.Contains("columns payload", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        { "grid/{0}", "21.5", "bad_topic" },
        { "grid/{0}/temp/extra", "21.5", "bad_topic" },
        { "grid/{0}/temperature", "twenty", "unparsable_payload" },
        { "grid/{0}/temperature", "{\"v\":21.5", "unparsable_payload" },
        { "grid/{0}/temperature", "NaN", "non_finite_value" },
        { "grid/{0}/temperature", "{\"v\":1e400}", "non_finite_value" },
        { "grid/{0}/temperature", "{\"v\":21.5,\"unit\":\"psi\"}", "unit_mismatch" },
        { "grid/{0}/temperature", "{\"v\":21.5,\"t\":\"2099-01-01T00:00:00Z\"}", "timestamp_in_future" },
        { "grid/{0}/temperature", "{\"v\":21.5,\"t\":\"1999-12-31T00:00:00Z\"}", "timestamp_too_old" },
        { "grid/{0}/temperature", "{\"v\":21.5,\"t\":1763800000}", "timestamp_too_old" },
        { "grid/{0}/temperature", "{\"v\":21.5,\"pad\":\"" + new string('x', 66_000) + "\"}", "payload_too_large" },
        { "grid/{0}/status", "asleep", "bad_status" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Each_kind_of_bad_input_is_rejected_with_its_reason_and_nothing_is_stored(string topicPattern, string payload, string reason)
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var result = await client.PublishAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, topicPattern, device), payload);
        Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, result.ReasonCode);

        var rejections = await RejectionsAsync(device, 1);
        var record = Assert.Single(rejections.Recent);
        Assert.Equal(reason, record.Reason);
        Assert.False(string.IsNullOrWhiteSpace(record.Detail));
        Assert.DoesNotContain((await _hub.GetAsync<List<SeriesResponse>>("/api/series"))!, s => s.Device == device);
    }

    [Fact]
    public async Task A_batch_over_ten_thousand_readings_is_rejected_whole()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var items = string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"{{\"m\":\"x\",\"v\":{i}}}"));
        var payload = $"{{\"readings\":[{items}]}}";
        Assert.True(Encoding.UTF8.GetByteCount(payload) < 256 * 1024);

        // The payload limit is raised for this message's size so that the batch limit is what refuses it.
        await using var hub = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:MaxPayloadBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var big = await TestMqtt.ConnectAsync(hub.Mqtt);
        await big.PublishAsync($"grid/{device}/batch", payload);
        var rejections = await Eventually.WaitForAsync(
            async () => (await hub.GetAsync<RejectionsResponse>("/api/ingest/rejections"))!,
            r => r.Total > 0,
            "the batch rejection");
        var record = Assert.Single(rejections.Recent);
        Assert.Equal("batch_too_large", record.Reason);
        Assert.Equal(10_001, record.Count);
        Assert.Empty((await hub.GetAsync<List<SeriesResponse>>("/api/series"))!);
    }

    [Fact]
    public async Task The_same_reading_twice_is_stored_once()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        for (var i = 0; i < 3; i++)
            await client.PublishAsync($"grid/{device}/humidity", """{"v":40,"t":"2026-11-22T07:00:00Z"}""");
        var series = Assert.Single((await _hub.GetAsync<List<SeriesResponse>>("/api/series"))!, s => s.Device == device);
        Assert.Equal(1, series.Count);
    }

    [Fact]
    public async Task A_new_unit_for_an_unknown_metric_is_a_unit_mismatch()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await client.PublishAsync($"grid/{device}/soil", """{"v":12,"unit":"degC","t":"2026-11-22T07:00:00Z"}""");
        await client.PublishAsync($"grid/{device}/soil", """{"v":54,"unit":"degF","t":"2026-11-22T07:01:00Z"}""");
        var record = Assert.Single((await RejectionsAsync(device, 1)).Recent);
        Assert.Equal("unit_mismatch", record.Reason);
        Assert.Contains("stored in 'degC'", record.Detail, StringComparison.Ordinal);
        Assert.Single((await PointsAsync(device, "soil"))!.Points);
    }

    [Fact]
    public async Task Aggregated_queries_return_one_value_per_step()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var readings = string.Join(",", Enumerable.Range(0, 120).Select(i => $"{{\"m\":\"level\",\"v\":{i},\"t\":{Ms("2026-11-22T06:00:00Z") + i * 1000L}}}"));
        await client.PublishAsync($"grid/{device}/batch", $"{{\"readings\":[{readings}]}}");

        var query = "from=2026-11-22T06:00:00Z&to=2026-11-22T06:02:00Z&step=1m";
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 29.5], [Ms("2026-11-22T06:01:00Z"), 89.5]], (await PointsAsync(device, "level", query + "&agg=mean"))!.Points);
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 0], [Ms("2026-11-22T06:01:00Z"), 60]], (await PointsAsync(device, "level", query + "&agg=min"))!.Points);
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 59], [Ms("2026-11-22T06:01:00Z"), 119]], (await PointsAsync(device, "level", query + "&agg=max"))!.Points);
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 60], [Ms("2026-11-22T06:01:00Z"), 60]], (await PointsAsync(device, "level", query + "&agg=count"))!.Points);
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 1770], [Ms("2026-11-22T06:01:00Z"), 5370]], (await PointsAsync(device, "level", query + "&agg=sum"))!.Points);

        var all = (await _hub.GetAsync<DevicePointsResponse>($"/api/devices/{device}/points?{query}&agg=max"))!;
        Assert.Equal([[Ms("2026-11-22T06:00:00Z"), 59], [Ms("2026-11-22T06:01:00Z"), 119]], all.Series["level"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await _hub.Http.GetAsync($"/api/devices/{device}/points?from=-1h")).StatusCode);

        var raw = (await PointsAsync(device, "level", "from=2026-11-22T06:00:00Z&to=2026-11-22T06:02:00Z&limit=10"))!;
        Assert.Equal(10, raw.Points.Count);
        Assert.True(raw.Truncated);
    }

    [Fact]
    public async Task Binary_points_carry_the_same_points_as_json_and_csv()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var t0 = Ms("2026-11-22T06:00:00Z");
        var values = Enumerable.Range(0, 300).Select(i => i % 7 == 0 ? -0.1 * i : Math.Round(Math.Sin(i) * 1000, 3)).ToArray();
        var readings = string.Join(",", values.Select((v, i) => $"{{\"m\":\"level\",\"v\":{v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)},\"t\":{t0 + i * 1000L}}}"));
        Assert.True((await client.PublishAsync($"grid/{device}/batch", $"{{\"readings\":[{readings}]}}")).IsSuccess);

        foreach (var query in new[] { $"from={t0}&to={t0 + 300_000}", $"from={t0}&to={t0 + 300_000}&limit=250", $"from={t0}&to={t0 + 300_000}&step=1m&agg=max" })
        {
            var json = (await PointsAsync(device, "level", query))!;
            using var response = await _hub.Http.GetAsync($"/api/series/{device}/level/points?{query}&format=binary");
            response.EnsureSuccessStatusCode();
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadAsByteArrayAsync();
            var n = json.Points.Count;
            Assert.Equal(n * 16, body.Length);
            Assert.Equal(n.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("X-Grid-Points").Single());
            Assert.Equal(json.Truncated ? "true" : "false", response.Headers.GetValues("X-Grid-Truncated").Single());
            Assert.Equal(Uri.EscapeDataString(json.Series), response.Headers.GetValues("X-Grid-Series").Single());
            Assert.Equal(json.Agg, response.Headers.TryGetValues("X-Grid-Agg", out var agg) ? agg.Single() : null);
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(json.Points[i][0], System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(body.AsSpan(i * 8)));
                Assert.Equal(json.Points[i][1], System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(body.AsSpan((n + i) * 8)));
            }

            var csv = (await _hub.Http.GetStringAsync($"/api/series/{device}/level/points?{query}&format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(n + 1, csv.Length);
            Assert.Equal(json.Points[^1][1], double.Parse(csv[^1].Split(',')[2], System.Globalization.CultureInfo.InvariantCulture));
        }

        var refused = await _hub.Http.GetAsync($"/api/series/{device}/level/points?format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("not json, csv or binary", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("from=yesterday", "from: 'yesterday' is not a time")]
    [InlineData("to=12:00", "to: '12:00' is not a time")]
    [InlineData("from=now&to=-1h", "must be before")]
    [InlineData("step=fast", "step: 'fast' is not a duration")]
    [InlineData("step=0s", "is not a duration")]
    [InlineData("agg=mean", "agg needs a step")]
    [InlineData("step=1m&agg=median", "agg: 'median' is not an aggregate")]
    [InlineData("from=0&step=1ms", "more than 100000 steps")]
    [InlineData("limit=0", "limit must be between")]
    [InlineData("limit=abc", "")]
    public async Task Bad_query_parameters_get_400_with_a_message(string query, string message)
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await client.PublishAsync($"grid/{device}/temperature", "20");
        var response = await _hub.Http.GetAsync($"/api/series/{device}/temperature/points?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_series_is_404_with_a_hint()
    {
        var response = await _hub.Http.GetAsync("/api/series/nobody/nothing/points");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("GET /api/series lists them", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_and_last_will_show_up_in_the_device_list()
    {
        var device = NewDevice();
        using (var socket = await RawMqtt.ConnectWithWillAsync(_hub.Mqtt, device, $"grid/{device}/status", "offline"))
        {
            using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
            await client.PublishAsync($"grid/{device}/status", "online", retain: true);
            var online = Assert.Single((await _hub.GetAsync<List<DeviceResponse>>("/api/devices"))!, d => d.Device == device);
            Assert.Equal("online", online.Status);
        }

        // The device's connection dropped without a DISCONNECT: the broker publishes its will.
        await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<List<DeviceResponse>>("/api/devices"))!.Single(d => d.Device == device).Status,
            s => s == "offline",
            "the last will to mark the device offline");
    }

    [Fact]
    public async Task Mqtt5_topic_aliases_are_resolved_for_ingest()
    {
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"grid/{device}/rpm").WithTopicAlias(5).WithPayload("{\"v\":800,\"t\":1795330000000}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), timeout.Token);
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(string.Empty).WithTopicAlias(5).WithPayload("{\"v\":900,\"t\":1795330001000}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), timeout.Token);
        Assert.Equal(2, (await PointsAsync(device, "rpm"))!.Points.Count);
    }

    [Fact]
    public async Task Other_topics_are_brokered_but_not_ingested()
    {
        var device = NewDevice();
        using var subscriber = await TestMqtt.ConnectAsync(_hub.Mqtt);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            received.TrySetResult(e.ApplicationMessage.Topic + " " + Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await subscriber.SubscribeAsync(new MqttClientFactory().CreateSubscribeOptionsBuilder().WithTopicFilter($"tasmota/{device}/#").Build(), cts.Token);

        using var publisher = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await publisher.PublishAsync($"tasmota/{device}/SENSOR", "{\"Temperature\":20}");
        Assert.Equal($"tasmota/{device}/SENSOR {{\"Temperature\":20}}", await received.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Empty((await _hub.GetAsync<RejectionsResponse>($"/api/ingest/rejections?device={device}"))!.Recent);
    }

    [Fact]
    public async Task Health_reports_the_broker_store_and_ingest()
    {
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        await client.PublishAsync($"grid/{NewDevice()}/temperature", "20");
        var health = (await _hub.GetAsync<HealthResponse>("/api/health"))!;
        Assert.Equal("ok", health.Status);
        Assert.Equal(_hub.Mqtt.ToString(), health.Mqtt.Endpoint);
        Assert.True(health.Mqtt.Clients >= 1);
        Assert.True(health.Store.Points >= 1);
        Assert.True(health.Ingest.ReadingsStored >= 1);
        Assert.Equal(_hub.DataDir, health.Store.DataDir);
    }

    [Fact]
    public async Task A_client_sending_broken_packets_is_dropped_and_counted_and_others_carry_on()
    {
        var before = (await _hub.GetAsync<HealthResponse>("/api/health"))!.Mqtt.ClientProtocolErrors;
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(_hub.Mqtt);
            await socket.SendAsync("\u0010\u0005garbage!"u8.ToArray());
            var buffer = new byte[16];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                Assert.Equal(0, await socket.ReceiveAsync(buffer, timeout.Token)); // the hub hangs up...
            }
            catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
            {
                // ...or resets the connection.
            }
        }

        await Eventually.WaitForAsync(
            async () => (await _hub.GetAsync<HealthResponse>("/api/health"))!.Mqtt.ClientProtocolErrors,
            count => count > before,
            "the protocol error to be counted");
        var device = NewDevice();
        using var client = await TestMqtt.ConnectAsync(_hub.Mqtt);
        Assert.True((await client.PublishAsync($"grid/{device}/temperature", "20")).IsSuccess);
    }

    [Fact]
    public async Task An_openapi_document_describes_the_api()
    {
        var document = await _hub.Http.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/series/{device}/{metric}/points", document, StringComparison.Ordinal);
        Assert.Contains("/api/ingest/rejections", document, StringComparison.Ordinal);
        Assert.Contains("/api/health", document, StringComparison.Ordinal);
    }
}
