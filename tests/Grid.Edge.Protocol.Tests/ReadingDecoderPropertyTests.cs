using System.Buffers;
using System.Globalization;
using System.Text;
using CsCheck;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Protocol.Tests;

/// <summary>The decoder faces whatever devices send: it must never throw, and what it accepts must be sound.</summary>
public class ReadingDecoderPropertyTests
{
    private const long Now = 1_795_341_600_000;
    private static readonly ReadingDecoder Decoder = new();

    private static readonly Gen<string> Topics = Gen.OneOf<string>(
        "grid/ws1/temperature", "grid/ws1/batch", "grid/ws1/status", "grid/ws1/widgets", "grid/ws1", "grid//x", "grid/a/b/c");

    private static void AssertSound(DecodedMessage message)
    {
        Assert.True(message.Readings.Count + message.Rejections.Count > 0, "every message has an outcome");
        foreach (var reading in message.Readings)
        {
            Assert.True(double.IsFinite(reading.Value));
            Assert.InRange(reading.TimestampMs, Decoder.Options.Earliest.ToUnixTimeMilliseconds(), Now + (long)Decoder.Options.MaxFutureSkew.TotalMilliseconds);
        }

        foreach (var rejection in message.Rejections)
        {
            Assert.False(string.IsNullOrWhiteSpace(rejection.Detail));
            Assert.True(rejection.Count >= 1);
        }
    }

    [Fact]
    public void Random_bytes_never_throw_and_always_get_an_outcome()
    {
        Gen.Select(Topics, Gen.Byte.Array[0, 300]).Sample(
            (topic, bytes) => AssertSound(Decoder.Decode(topic, bytes, Now)),
            iter: 20_000);
    }

    private static readonly Gen<string> JsonFragments = Gen.OneOf<string>(
        "{", "}", "[", "]", ",", ":", "\"v\"", "\"t\"", "\"m\"", "\"unit\"", "\"readings\"", "1", "-2.5", "1e999", "null", "true",
        "\"degF\"", "\"temperature\"", "\"2026-11-22T09:00:00Z\"", "1795341500000", "\"x\"", " ");

    [Fact]
    public void Json_shaped_noise_never_throws_and_always_gets_an_outcome()
    {
        Gen.Select(Topics, JsonFragments.Array[0, 40]).Sample(
            (topic, parts) => AssertSound(Decoder.Decode(topic, Encoding.UTF8.GetBytes(string.Concat(parts)), Now)),
            iter: 20_000);
    }

    [Fact]
    public void Well_formed_batches_round_trip_exactly()
    {
        var item = Gen.Select(
            Gen.OneOf<string>("temperature", "humidity", "wind_speed", "soil", "x.y-z"),
            Gen.Double[0, 60],
            Gen.Long[Now - 86_400_000L * 365, Now]);
        item.List[1, 50].Sample(
            items =>
            {
                var json = "{\"readings\":[" + string.Join(",", items.Select(i =>
                    $"{{\"m\":\"{i.Item1}\",\"v\":{i.Item2.ToString("R", CultureInfo.InvariantCulture)},\"t\":{i.Item3}}}")) + "]}";
                var message = Decoder.Decode("grid/dev/batch", new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), Now);
                Assert.Empty(message.Rejections);
                Assert.Equal(items.Count, message.Readings.Count);
                for (var i = 0; i < items.Count; i++)
                {
                    Assert.Equal(new SeriesKey("dev", items[i].Item1), message.Readings[i].Series);
                    Assert.Equal(items[i].Item2, message.Readings[i].Value);
                    Assert.Equal(items[i].Item3, message.Readings[i].TimestampMs);
                }
            },
            iter: 2_000);
    }

    [Fact]
    public void A_payload_split_across_segments_decodes_like_a_contiguous_one()
    {
        Gen.Select(Gen.Double[-50, 50], Gen.Int[1, 20]).Sample(
            (value, cut) =>
            {
                var bytes = Encoding.UTF8.GetBytes($"{{\"v\":{value.ToString("R", CultureInfo.InvariantCulture)},\"unit\":\"degC\"}}");
                cut = Math.Min(cut, bytes.Length - 1);
                var first = new Segment(bytes.AsMemory(0, cut));
                var last = first.Append(bytes.AsMemory(cut));
                var split = Decoder.Decode("grid/ws1/temperature", new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), Now);
                var whole = Decoder.Decode("grid/ws1/temperature", bytes, Now);
                Assert.Equal(whole.Readings, split.Readings);
            },
            iter: 2_000);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
