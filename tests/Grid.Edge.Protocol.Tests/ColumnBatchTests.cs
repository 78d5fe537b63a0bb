using CsCheck;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Protocol.Tests;

/// <summary>The binary <c>columns</c> payload: exact round trips, the reading rules per point, and noise refused whole.</summary>
public class ColumnBatchTests
{
    private const long Now = 1_795_341_600_000;
    private const string Topic = "grid/ws1/columns";
    private static readonly ReadingDecoder Decoder = new(new ReadingDecoderOptions { MaxPayloadBytes = 1 << 20, MaxBatchReadings = 100_000 });

    private static readonly Gen<(string Metric, long[] Times, double[] Values)> Series =
        Gen.Select(
            Gen.OneOf<string>("soil", "x.y-z", "flow_rate", "s0001"),
            Gen.Int[1, 300],
            Gen.Int[0, 2],
            Gen.Long[-5_000, 5_000],
            Gen.Int[0, int.MaxValue]).Select((metric, n, shape, jitter, seed) =>
        {
            var random = new Random(seed);
            var t = Now - 86_400_000L;
            var times = new long[n];
            var values = new double[n];
            var k = random.Next(-500, 500);
            for (var i = 0; i < n; i++)
            {
                // Mostly regular, sometimes gaps, late and repeated times: any order is allowed.
                t += random.Next(10) == 0 ? jitter : 1000;
                times[i] = Math.Min(t, Now);
                k += random.Next(-1, 2);
                values[i] = shape switch
                {
                    0 => 21.5,
                    1 => k / 10.0,
                    _ => BitConverter.Int64BitsToDouble(random.NextInt64()) is var d && double.IsFinite(d) ? d : 0,
                };
            }

            return (metric, times, values);
        });

    [Fact]
    public void Columns_round_trip_bit_for_bit()
    {
        Series.Array[1, 6].Sample(all =>
        {
            var writer = new ColumnBatchWriter();
            foreach (var (metric, times, values) in all)
                writer.Add(metric, "", times, values);
            var message = Decoder.Decode(Topic, writer.ToArray(), Now);

            Assert.Empty(message.Rejections);
            Assert.Equal(all.Length, message.Columns.Count);
            for (var s = 0; s < all.Length; s++)
            {
                var decoded = message.Columns[s];
                Assert.Equal(new SeriesKey("ws1", all[s].Metric), decoded.Series);
                Assert.Equal(all[s].Times, decoded.Times);
                Assert.Equal(all[s].Values.Select(BitConverter.DoubleToInt64Bits), decoded.Values.Select(BitConverter.DoubleToInt64Bits));
            }

            Assert.Equal(all.Sum(s => s.Times.Length), message.ReadingCount);
        }, iter: 300);
    }

    [Fact]
    public void A_regular_series_costs_about_nine_bytes_a_point()
    {
        var times = Enumerable.Range(0, 3600).Select(i => Now - 3_600_000 + i * 1000L).ToArray();
        var payload = new ColumnBatchWriter().Add("temperature", "degC", times, times.Select(_ => 20.5).ToArray()).ToArray();

        Assert.InRange(payload.Length, 3600 * 9, 3600 * 9 + 40);
    }

    [Fact]
    public void Each_point_meets_the_reading_rules_and_refusals_are_counted_by_reason()
    {
        long[] times = [Now - 3000, Now - 2000, Now + 3_600_000, 1000, Now - 1000, Now];
        double[] values = [68, double.NaN, 70, 70, 1000, 32];
        var payload = new ColumnBatchWriter().Add("temperature", "°F", times, values).ToArray();

        var message = Decoder.Decode(Topic, payload, Now);

        var kept = Assert.Single(message.Columns);
        Assert.Equal("degC", kept.Unit);
        Assert.Equal([Now - 3000, Now], kept.Times);
        Assert.Equal([20.0, 0.0], kept.Values);
        Assert.Equal(
            [(RejectReason.NonFiniteValue, 1), (RejectReason.OutOfRange, 1), (RejectReason.TimestampInFuture, 1), (RejectReason.TimestampTooOld, 1)],
            message.Rejections.Select(r => (r.Reason, r.Count)).OrderBy(r => r.Reason.ToString(), StringComparer.Ordinal));
        Assert.Contains("outside the plausible range", message.Rejections.Single(r => r.Reason == RejectReason.OutOfRange).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_series_in_a_unit_its_metric_does_not_take_is_refused_whole()
    {
        var payload = new ColumnBatchWriter()
            .Add("temperature", "hPa", [Now - 1000, Now], [1, 2])
            .Add("soil", "", [Now], [0.3])
            .ToArray();

        var message = Decoder.Decode(Topic, payload, Now);

        Assert.Equal("soil", Assert.Single(message.Columns).Series.Metric);
        var refused = Assert.Single(message.Rejections);
        Assert.Equal((RejectReason.UnitMismatch, 2, "temperature"), (refused.Reason, refused.Count, refused.Metric));
    }

    [Fact]
    public void A_reserved_or_malformed_metric_name_is_refused()
    {
        // The writer checks names, so the payload is patched by hand: 'soil' becomes 'batc' + a control byte.
        var payload = new ColumnBatchWriter().Add("soil", "", [Now], [1]).ToArray();
        var at = Array.IndexOf(payload, (byte)'s');
        "bat\u0001"u8.CopyTo(payload.AsSpan(at));

        var message = Decoder.Decode(Topic, payload, Now);

        Assert.Empty(message.Columns);
        Assert.Equal(RejectReason.BadMetric, Assert.Single(message.Rejections).Reason);
    }

    [Fact]
    public void More_points_than_the_batch_limit_are_refused_with_the_count()
    {
        var decoder = new ReadingDecoder(new ReadingDecoderOptions { MaxPayloadBytes = 1 << 20, MaxBatchReadings = 100 });
        var times = Enumerable.Range(0, 101).Select(i => Now - i * 1000L).ToArray();
        var payload = new ColumnBatchWriter().Add("soil", "", times, new double[101]).ToArray();

        var message = decoder.Decode(Topic, payload, Now);

        Assert.Empty(message.Columns);
        var refused = Assert.Single(message.Rejections);
        Assert.Equal((RejectReason.BatchTooLarge, 101), (refused.Reason, refused.Count));
    }

    [Fact]
    public void A_point_count_the_payload_cannot_hold_is_refused_before_anything_is_allocated()
    {
        // GEC1, 1 series, "a", "", then a count of 2^62 points in a few bytes.
        byte[] payload = [.. "GEC1"u8, 1, 1, (byte)'a', 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0];

        var message = Decoder.Decode(Topic, payload, Now);

        var refused = Assert.Single(message.Rejections);
        Assert.Equal(RejectReason.UnparsablePayload, refused.Reason);
        Assert.Contains("do not fit", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Cut_flipped_or_extended_payloads_are_refused_whole_or_decode_soundly()
    {
        var valid = Series.Array[1, 3].Select(all =>
        {
            var writer = new ColumnBatchWriter();
            foreach (var (metric, times, values) in all)
                writer.Add(metric, "", times, values);
            return writer.ToArray();
        });
        Gen.Select(valid, Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Byte).Sample((payload, damage, where, b) =>
        {
            var position = where % payload.Length;
            var damaged = damage switch
            {
                0 => payload[..position],
                1 => [.. payload[..position], (byte)(payload[position] ^ (b | 1)), .. payload[(position + 1)..]],
                2 => [.. payload, b],
                _ => [.. payload[..position], .. payload[(position + 1)..]],
            };
            var message = Decoder.Decode(Topic, damaged, Now);

            Assert.True(message.Columns.Count + message.Rejections.Count > 0, "every message has an outcome");
            if (message.Rejections.Any(r => r.Reason == RejectReason.UnparsablePayload))
                Assert.Empty(message.Columns);
            foreach (var series in message.Columns)
            {
                Assert.Equal(series.Times.Length, series.Values.Length);
                Assert.All(series.Values, v => Assert.True(double.IsFinite(v)));
                Assert.All(series.Times, t => Assert.InRange(t, Decoder.Options.Earliest.ToUnixTimeMilliseconds(), Now + (long)Decoder.Options.MaxFutureSkew.TotalMilliseconds));
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Random_bytes_after_the_magic_never_throw()
    {
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            var message = Decoder.Decode(Topic, [.. "GEC1"u8, .. bytes], Now);
            Assert.True(message.Columns.Count + message.Rejections.Count > 0);
        }, iter: 20_000);
    }

    [Fact]
    public void Columns_is_a_message_kind_not_a_metric()
    {
        Assert.True(Topics.GridTopic.TryParse("grid/ws1/columns", out var parsed, out _));
        Assert.Equal(Topics.GridTopicKind.Columns, parsed.Kind);

        var json = Decoder.Decode("grid/ws1/batch", """{"readings":[{"m":"columns","v":1}]}"""u8, Now);
        Assert.Equal(RejectReason.BadMetric, Assert.Single(json.Rejections).Reason);
    }
}
