using System.Text;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Tests;

public class ReadingDecoderTests
{
    private static readonly long Now = DateTimeOffset.Parse("2026-11-22T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
    private readonly ReadingDecoder _decoder = new();

    private DecodedMessage Decode(string topic, string payload) => _decoder.Decode(topic, Encoding.UTF8.GetBytes(payload), Now);

    private static Rejection SingleRejection(DecodedMessage message)
    {
        Assert.Empty(message.Readings);
        return Assert.Single(message.Rejections);
    }

    [Theory]
    [InlineData("21.5", 21.5)]
    [InlineData(" -3 \n", -3.0)]
    [InlineData("1e3", 1000.0)]
    [InlineData("0", 0.0)]
    public void A_bare_number_is_stamped_with_the_arrival_time(string payload, double expected)
    {
        var message = Decode("grid/ws1/level", payload);
        var reading = Assert.Single(message.Readings);
        Assert.Equal(new Reading(new SeriesKey("ws1", "level"), Now, expected, string.Empty), reading);
        Assert.Empty(message.Rejections);
    }

    [Fact]
    public void Json_carries_value_time_and_unit()
    {
        var message = Decode("grid/ws1/temperature", """{"v":70,"t":"2026-11-22T09:59:00Z","unit":"degF"}""");
        var reading = Assert.Single(message.Readings);
        Assert.Equal(Now - 60_000, reading.TimestampMs);
        Assert.Equal(21.1111, reading.Value, 4);
        Assert.Equal("degC", reading.Unit);
    }

    [Theory]
    [InlineData("""{"v":1,"t":1795341540000}""", 1795341540000)]
    [InlineData("""{"v":1,"t":"2026-11-22T11:00:00+01:00"}""", 1795341600000)]
    [InlineData("""{"v":1,"t":"2026-11-22T09:59:59.250Z"}""", 1795341599250)]
    [InlineData("""{"t":1795341540000,"v":1,"extra":{"nested":[1,2]}}""", 1795341540000)]
    public void Time_is_rfc3339_or_unix_milliseconds(string payload, long expected)
    {
        var reading = Assert.Single(Decode("grid/ws1/x", payload).Readings);
        Assert.Equal(expected, reading.TimestampMs);
    }

    [Fact]
    public void Unknown_metrics_keep_their_declared_unit()
    {
        var reading = Assert.Single(Decode("grid/ws1/soil_temp", """{"v":12.5,"unit":"°C"}""").Readings);
        Assert.Equal("degC", reading.Unit);
        Assert.Equal(12.5, reading.Value);
        reading = Assert.Single(Decode("grid/ws1/widgets", """{"v":3,"unit":"pcs"}""").Readings);
        Assert.Equal("pcs", reading.Unit);
        reading = Assert.Single(Decode("grid/ws1/widgets", "3").Readings);
        Assert.Equal(string.Empty, reading.Unit);
    }

    [Theory]
    [InlineData("grid/ws1/temperature", "abc", RejectReason.UnparsablePayload, "not a number")]
    [InlineData("grid/ws1/temperature", "{\"v\":", RejectReason.UnparsablePayload, "invalid JSON")]
    [InlineData("grid/ws1/temperature", "{\"v\":1} trailing", RejectReason.UnparsablePayload, "invalid JSON")]
    [InlineData("grid/ws1/temperature", "{\"v\":\"warm\"}", RejectReason.UnparsablePayload, "not a number")]
    [InlineData("grid/ws1/temperature", "{\"v\":[1]}", RejectReason.UnparsablePayload, "must be a number")]
    [InlineData("grid/ws1/temperature", "", RejectReason.MissingValue, "empty")]
    [InlineData("grid/ws1/temperature", "{\"t\":1795341540000}", RejectReason.MissingValue, "no \"v\"")]
    [InlineData("grid/ws1/temperature", "{\"v\":null}", RejectReason.MissingValue, "no \"v\"")]
    [InlineData("grid/ws1/temperature", "NaN", RejectReason.NonFiniteValue, "not finite")]
    [InlineData("grid/ws1/temperature", "-Infinity", RejectReason.NonFiniteValue, "not finite")]
    [InlineData("grid/ws1/temperature", "1e999", RejectReason.NonFiniteValue, "not finite")]
    [InlineData("grid/ws1/temperature", "{\"v\":1e999}", RejectReason.NonFiniteValue, "range of a double")]
    [InlineData("grid/ws1/temperature", "{\"v\":\"NaN\"}", RejectReason.NonFiniteValue, "not finite")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"unit\":\"hPa\"}", RejectReason.UnitMismatch, "measured in 'degC'")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"unit\":7}", RejectReason.UnitMismatch, "must be a string")]
    [InlineData("grid/ws1/humidity", "{\"v\":20,\"unit\":\"a b\"}", RejectReason.UnitMismatch, "whitespace")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":\"yesterday\"}", RejectReason.BadTimestamp, "RFC 3339")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":\"2026-11-22T10:00:00\"}", RejectReason.BadTimestamp, "offset")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":1.5}", RejectReason.BadTimestamp, "integer")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":1795342000000}", RejectReason.TimestampInFuture, "ahead of the hub clock")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":1795341540}", RejectReason.TimestampTooOld, "Unix seconds")]
    [InlineData("grid/ws1/temperature", "{\"v\":20,\"t\":\"1999-12-31T23:59:59Z\"}", RejectReason.TimestampTooOld, "before 2000")]
    [InlineData("grid/ws1/humidity", "101", RejectReason.OutOfRange, "plausible range")]
    [InlineData("grid/ws1/status", "sleeping", RejectReason.BadStatus, "online")]
    [InlineData("grid/ws1", "1", RejectReason.BadTopic, "expected grid/<device>/<metric>")]
    [InlineData("grid/ws 1/temperature", "1", RejectReason.BadTopic, "device contains")]
    public void Bad_input_is_rejected_with_a_reason(string topic, string payload, RejectReason reason, string detail)
    {
        var rejection = SingleRejection(Decode(topic, payload));
        Assert.Equal(reason, rejection.Reason);
        Assert.Contains(detail, rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_future_timestamp_within_the_skew_is_accepted()
    {
        var reading = Assert.Single(Decode("grid/ws1/x", $$"""{"v":1,"t":{{Now + 299_000}}}""").Readings);
        Assert.Equal(Now + 299_000, reading.TimestampMs);
    }

    [Fact]
    public void Payloads_over_the_limit_are_rejected_whole()
    {
        var big = "{\"v\":1,\"pad\":\"" + new string('x', 70_000) + "\"}";
        var rejection = SingleRejection(Decode("grid/ws1/x", big));
        Assert.Equal(RejectReason.PayloadTooLarge, rejection.Reason);
        Assert.Contains("limit is 65536", rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_is_online_or_offline()
    {
        Assert.Equal(DeviceStatus.Online, Decode("grid/ws1/status", "online").Status);
        Assert.Equal(DeviceStatus.Offline, Decode("grid/ws1/status", "OFFLINE\n").Status);
    }

    [Fact]
    public void A_batch_stores_its_valid_readings_and_rejects_the_rest_one_by_one()
    {
        var message = Decode("grid/ws1/batch", """
            {"readings":[
              {"m":"temperature","v":21.5,"t":1795341540000},
              {"m":"temperature","v":"hot","t":1795341550000},
              {"m":"humidity","v":101},
              {"v":3},
              {"m":"bad name","v":3},
              {"m":"pressure","v":29.92,"unit":"inHg","t":"2026-11-22T09:59:00Z"},
              {"m":"status","v":1},
              [1,2],
              {"m":"wind_speed","v":1e999}
            ]}
            """);
        Assert.Equal(2, message.Readings.Count);
        Assert.Equal(21.5, message.Readings[0].Value);
        Assert.Equal(1013.2075, message.Readings[1].Value, 4);
        Assert.Equal(
            [RejectReason.UnparsablePayload, RejectReason.OutOfRange, RejectReason.BadMetric, RejectReason.BadMetric, RejectReason.BadMetric, RejectReason.UnparsablePayload, RejectReason.NonFiniteValue],
            message.Rejections.Select(r => r.Reason));
        Assert.Equal(9, message.ReadingCount);
    }

    [Fact]
    public void A_corrupt_batch_stores_nothing()
    {
        var message = Decode("grid/ws1/batch", """{"readings":[{"m":"temperature","v":21.5},{"m":"temperature","v":""");
        var rejection = SingleRejection(message);
        Assert.Equal(RejectReason.UnparsablePayload, rejection.Reason);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"readings\":{}}")]
    [InlineData("21.5")]
    public void A_batch_must_be_an_object_with_a_readings_array(string payload)
    {
        Assert.Equal(RejectReason.UnparsablePayload, SingleRejection(Decode("grid/ws1/batch", payload)).Reason);
    }

    [Fact]
    public void Batches_over_the_reading_limit_are_rejected_whole_with_their_size()
    {
        var decoder = new ReadingDecoder(new ReadingDecoderOptions { MaxBatchReadings = 10 });
        var items = string.Join(",", Enumerable.Range(0, 12).Select(i => $$"""{"m":"x","v":{{i}}}"""));
        var message = decoder.Decode("grid/ws1/batch", Encoding.UTF8.GetBytes($$"""{"readings":[{{items}}]}"""), Now);
        var rejection = SingleRejection(message);
        Assert.Equal(RejectReason.BatchTooLarge, rejection.Reason);
        Assert.Equal(12, rejection.Count);
        Assert.Contains("holds 12 readings; the limit is 10", rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_batch_limit_is_ten_thousand()
    {
        string Batch(int n) => "{\"readings\":[" + string.Join(",", Enumerable.Range(0, n).Select(i => $"{{\"m\":\"x\",\"v\":{i},\"t\":{Now - i}}}")) + "]}";
        var decoder = new ReadingDecoder(new ReadingDecoderOptions { MaxPayloadBytes = 1 << 20 });
        Assert.Equal(10_000, decoder.Decode("grid/ws1/batch", Encoding.UTF8.GetBytes(Batch(10_000)), Now).Readings.Count);
        Assert.Equal(RejectReason.BatchTooLarge, Assert.Single(decoder.Decode("grid/ws1/batch", Encoding.UTF8.GetBytes(Batch(10_001)), Now).Rejections).Reason);
    }

    [Fact]
    public void Control_characters_in_device_text_are_masked_in_errors()
    {
        var rejection = SingleRejection(Decode("grid/ws1/temperature", "\u001b[31mred"));
        Assert.DoesNotContain('\u001b', rejection.Detail);
    }

    [Fact]
    public void Every_reject_reason_has_a_distinct_snake_case_code()
    {
        var codes = Enum.GetValues<RejectReason>().Select(r => r.ToCode()).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^[a-z_]+$", c));
        Assert.Contains("bad_topic", codes);
        Assert.Contains("timestamp_in_future", codes);
    }

    [Fact]
    public void Topic_helpers_build_what_the_parser_reads()
    {
        Assert.True(GridTopic.TryParse(GridTopic.ReadingTopic("a", "b"), out var parsed, out _));
        Assert.Equal(GridTopicKind.Reading, parsed.Kind);
        Assert.True(GridTopic.TryParse(GridTopic.BatchTopic("a"), out parsed, out _));
        Assert.Equal(GridTopicKind.Batch, parsed.Kind);
        Assert.True(GridTopic.TryParse(GridTopic.StatusTopic("a"), out parsed, out _));
        Assert.Equal(GridTopicKind.Status, parsed.Kind);
    }
}
