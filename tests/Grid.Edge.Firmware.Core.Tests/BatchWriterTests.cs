using System.Text;
using CsCheck;
using Grid.Edge.Firmware.Core.Wire;
using Grid.Edge.Protocol.Payloads;

namespace Grid.Edge.Firmware.Core.Tests;

/// <summary>What the firmware writes is what the hub's decoder reads.</summary>
public sealed class BatchWriterTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void Rounding_without_System_Math_gives_what_Math_Round_gives()
    {
        // Halves, near-halves and whole numbers at every scale the writer takes, then any double in its range.
        foreach (var x in new[] { 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 4503599627370495.5, 9.0e17, -9.0e17, 0, -0.0, 1e-300, 123456.5 })
            Assert.Equal((long)Math.Round(x), BatchWriter.RoundHalfToEven(x));
        Gen.Double[-9.0e17, 9.0e17].Sample(x => Assert.Equal((long)Math.Round(x), BatchWriter.RoundHalfToEven(x)), iter: 200_000);
        Gen.Int[-1_000_000, 1_000_000].Sample(n => Assert.Equal((long)Math.Round(n + 0.5), BatchWriter.RoundHalfToEven(n + 0.5)));
    }

    [Fact]
    public void Writes_the_hub_batch_format_with_short_fixed_decimals()
    {
        var metrics = new MetricTable();
        var temperature = metrics.Add("temperature", 2);
        var pressure = metrics.Add("pressure", 2);
        var rssi = metrics.Add("rssi", 0);
        var writer = new BatchWriter(1024, metrics);
        Assert.True(writer.Add(temperature, 21.5, 1763800000000));
        Assert.True(writer.Add(temperature, -0.05, 1763800000001));
        Assert.True(writer.Add(pressure, 1006.5325390625, 1763800000002));
        Assert.True(writer.Add(rssi, -67, 1763800000003));
        Assert.False(writer.Add(temperature, double.NaN, 1));
        Assert.False(writer.Add(temperature, double.PositiveInfinity, 1));
        Assert.False(writer.Add(99, 1, 1));
        writer.Finish();
        Assert.Equal(
            """{"readings":[{"m":"temperature","v":21.5,"t":1763800000000},{"m":"temperature","v":-0.05,"t":1763800000001},{"m":"pressure","v":1006.53,"t":1763800000002},{"m":"rssi","v":-67,"t":1763800000003}]}""",
            Encoding.ASCII.GetString(writer.Buffer, 0, writer.Length));
        Assert.Equal(4, writer.Readings);
    }

    [Fact]
    public void Metric_names_are_checked_against_the_hub_rule()
    {
        var metrics = new MetricTable();
        Assert.Throws<ArgumentException>(() => metrics.Add("bad name", 1));
        Assert.Throws<ArgumentException>(() => metrics.Add("", 1));
        Assert.Throws<ArgumentException>(() => metrics.Add("ok", 7));
        for (var i = 0; i < MetricTable.MaximumMetrics; i++)
            metrics.Add("m" + i, 0);
        Assert.Throws<InvalidOperationException>(() => metrics.Add("one_more", 0));
    }

    [Fact]
    public void Random_batches_decode_in_the_hub_to_the_rounded_values_and_original_times()
    {
        var metrics = new MetricTable();
        for (var d = 0; d <= 6; d++)
            metrics.Add("metric_d" + d, d);
        var decoder = new ReadingDecoder();
        var reading = Gen.Select(Gen.Int[0, 6], Gen.Double[-1e9, 1e9], Gen.Long[Now - (400L * 86_400_000), Now]);
        reading.Array[1, 60].Sample(items =>
        {
            var writer = new BatchWriter(60 * 160, metrics);
            foreach (var (m, v, t) in items)
                Assert.True(writer.Add(m, v, t));
            writer.Finish();

            var decoded = decoder.Decode("grid/station-1/batch", writer.Buffer.AsSpan(0, writer.Length), Now);
            Assert.Empty(decoded.Rejections);
            Assert.Equal(items.Length, decoded.Readings.Count);
            for (var i = 0; i < items.Length; i++)
            {
                var (m, v, t) = items[i];
                var scaled = Math.Round(v * Math.Pow(10, m));
                var expected = (double)((decimal)scaled / (decimal)Math.Pow(10, m));
                Assert.Equal("metric_d" + m, decoded.Readings[i].Series.Metric);
                Assert.Equal(expected, decoded.Readings[i].Value);
                Assert.Equal(t, decoded.Readings[i].TimestampMs);
            }
        }, iter: 500);
    }

    [Fact]
    public void The_hub_decodes_the_firmware_s_batch_and_the_protocol_s_json_batch_of_the_same_readings_alike()
    {
        var metrics = new MetricTable();
        for (var d = 0; d <= 6; d++)
            metrics.Add("metric_d" + d, d);
        var decoder = new ReadingDecoder();
        var reading = Gen.Select(Gen.Int[0, 6], Gen.Double[-1e9, 1e9], Gen.Long[Now - (400L * 86_400_000), Now]);
        reading.Array[1, 60].Sample(items =>
        {
            var firmware = new BatchWriter(60 * 160, metrics);
            using var protocol = new Grid.Edge.Protocol.Payloads.JsonBatchWriter();
            foreach (var (m, v, t) in items)
            {
                Assert.True(firmware.Add(m, v, t));

                // The firmware sends fixed decimals: the same readings, rounded as it rounds them.
                var rounded = (double)((decimal)BatchWriter.RoundHalfToEven(v * Math.Pow(10, m)) / (decimal)Math.Pow(10, m));
                Assert.True(protocol.TryAdd("metric_d" + m, rounded, t));
            }

            firmware.Finish();
            var fromFirmware = decoder.Decode("grid/station-1/batch", firmware.Buffer.AsSpan(0, firmware.Length), Now);
            var fromProtocol = decoder.Decode("grid/station-1/batch", protocol.ToArray(), Now);
            Assert.Empty(fromFirmware.Rejections);
            Assert.Empty(fromProtocol.Rejections);
            Assert.Equal(items.Length, fromProtocol.Readings.Count);
            Assert.Equal(fromFirmware.Readings, fromProtocol.Readings);
        }, iter: 300);
    }

    [Fact]
    public void A_full_buffer_refuses_more_instead_of_overrunning()
    {
        var metrics = new MetricTable();
        var m = metrics.Add(new string('x', 64), 6);
        var writer = new BatchWriter(400, metrics);
        var added = 0;
        while (writer.Add(m, -123456789.123456, long.MaxValue / 2))
            added++;
        writer.Finish();
        Assert.True(added >= 1);
        Assert.True(writer.Length <= 400);
        var decoded = new ReadingDecoder().Decode("grid/x/batch", writer.Buffer.AsSpan(0, writer.Length), long.MaxValue / 2);
        Assert.Equal(added, decoded.Readings.Count + decoded.Rejections.Count);
    }
}
