using CsCheck;
using Grid.Edge.Protocol.Payloads;

namespace Grid.Edge.Protocol.Tests;

/// <summary>The JSON batch writer beside its decoder: what one writes, the other reads back exactly.</summary>
public sealed class JsonBatchWriterTests
{
    private const long Now = 1_795_341_600_000;

    [Fact]
    public void Any_readings_written_decode_to_the_same_values_times_and_units()
    {
        var decoder = new ReadingDecoder();
        // A catalogue metric within its plausible range, with and without its unit, and metrics the catalogue does not know.
        var value = Gen.OneOf(
            Gen.Select(Gen.Const("temperature"), Gen.Double[-40, 60]),
            Gen.Select(Gen.Const("rpm"), Gen.Double[0, 8000]),
            Gen.Select(Gen.Const("x_1"), Gen.Double[-1e12, 1e12]),
            Gen.Select(Gen.Const("soil.moisture-2"), Gen.Double)).Where(p => double.IsFinite(p.Item2));
        var reading = Gen.Select(value, Gen.Long[Now - (300L * 86_400_000), Now], (p, t) => (p.Item1, p.Item2, t));
        reading.Array[1, 200].Sample(items =>
        {
            using var writer = new JsonBatchWriter();
            foreach (var (m, v, t) in items)
                Assert.True(writer.TryAdd(m, v, t, m == "temperature" ? "degC" : null));
            var decoded = decoder.Decode("grid/dev/batch", writer.ToArray(), Now);
            Assert.Empty(decoded.Rejections);
            Assert.Equal(items, decoded.Readings.Select(r => (r.Series.Metric, r.Value, r.TimestampMs)));
        }, iter: 300);
    }

    [Fact]
    public void A_batch_stays_under_its_maximum_size_and_takes_at_least_one_reading()
    {
        using var writer = new JsonBatchWriter(maxBytes: 1000);
        var added = 0;
        while (writer.TryAdd("temperature", -12.789012345, Now, "degC"))
            added++;
        var payload = writer.ToArray();
        Assert.True(payload.Length <= 1000, $"{payload.Length} bytes");
        Assert.True(added >= 5, $"only {added} readings");
        Assert.Equal(added, new ReadingDecoder().Decode("grid/dev/batch", payload, Now).Readings.Count);

        using var single = new JsonBatchWriter(maxBytes: 64);
        Assert.True(single.TryAdd(new string('m', 64), 1, Now));
        Assert.False(single.TryAdd("temperature", 1, Now));
    }
}
