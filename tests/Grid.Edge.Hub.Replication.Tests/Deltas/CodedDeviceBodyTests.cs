using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests.Deltas;

public sealed class CodedDeviceBodyTests
{
    private const long T0 = 1_800_000_000_000;
    private static readonly string[] Metrics = ["flow", "level", "m000", "pressure", "temp"];

    private static DeltaHeader HeaderFor(DeviceBody body) =>
        new(TestGrid.Grid, DeltaHeader.StreamIdOf("tank/*", ResolutionTier.Device), TestGrid.Hubs[0].HubId, "tank/*", ResolutionTier.Device, 1, Hash256.Zero,
            WriteStamp.HlcOf(body.Series.Max(s => s.Points.Times[^1]) + 1000), body.Series.Min(s => s.Points.Times[0]), body.Series.Max(s => s.Points.Times[^1]) + 1,
            TestGrid.Hubs[0].KeyId, 0, Hash256.Zero);

    /// <summary>A device's bodies as a stream would carry them: metrics come and go, units change now and then, values are short decimals, noise or large integers, some points corrected.</summary>
    private static List<DeviceBody> Chain(Random random, int length)
    {
        var units = Metrics.ToDictionary(m => m, _ => "W");
        var level = Metrics.ToDictionary(m => m, _ => random.Next(-500, 500) / 10.0);
        var chain = new List<DeviceBody>();
        for (var step = 0; step < length; step++)
        {
            var window = T0 + (step * 10_000L);
            var table = Enumerable.Range(0, random.Next(1, 5)).Select(_ => window + random.Next(0, 10_000)).Distinct().Order().ToArray();
            var series = new List<(string, PointsBody)>();
            foreach (var metric in Metrics.Where(_ => random.Next(4) > 0))
            {
                if (random.Next(20) == 0)
                    units[metric] = units[metric] == "W" ? "kW" : "W";
                var times = table.Where(_ => random.Next(3) > 0).ToArray();
                if (times.Length == 0)
                    times = [table[random.Next(table.Length)]];
                var kind = random.Next(10);
                var values = times.Select(_ => kind switch
                {
                    0 => random.NextDouble() * 1e6,
                    1 => (double)random.NextInt64(-(1L << 51), 1L << 51),
                    _ => level[metric] = Math.Round(level[metric] + (random.Next(-3, 4) / (kind == 2 ? 100.0 : 10.0)), kind == 2 ? 2 : 1),
                }).ToArray();
                var corrections = Enumerable.Range(0, times.Length).Where(_ => random.Next(8) == 0)
                    .Select(i => (i, WriteStamp.HlcOf(times[i]) + random.Next(1, 1 << 20))).ToList();
                series.Add((metric, new PointsBody(units[metric], times, values, corrections)));
            }

            if (series.Count == 0)
                series.Add(("temp", new PointsBody(units["temp"], [table[0]], [level["temp"]], [])));
            chain.Add(new DeviceBody(series));
        }

        return chain;
    }

    private static IEnumerable<(string, long, long, string, long)> Points(DeviceBody body) =>
        body.ToReadings("tank", "origin").Select(r => (r.Reading.Series.Id, r.Reading.TimestampMs, BitConverter.DoubleToInt64Bits(r.Reading.Value), r.Reading.Unit, r.Stamp.Hlc));

    [Fact]
    public void A_chain_decodes_delta_by_delta_to_the_same_points_stamps_and_context_as_its_author_had()
    {
        Gen.Int.Sample(seed =>
        {
            var random = new Random(seed);
            DeviceContext? authored = null;
            DeviceContext? received = null;
            foreach (var body in Chain(random, random.Next(1, 30)))
            {
                var key = authored is null || random.Next(8) == 0;
                var t0 = body.Series.Min(s => s.Points.Times[0]);
                var encoded = CodedDeviceBody.Encode(body, key ? null : authored, t0, out var next);
                Assert.Equal(!key, CodedDeviceBody.NeedsContext(encoded));
                var decoded = DeviceBody.TryDecode(encoded, HeaderFor(body), key ? null : received, out var after, out var error);
                Assert.True(decoded is not null, $"seed {seed}: {error}");
                Assert.Equal(Points(body), Points(decoded));
                Assert.Equal(body.Series.Sum(s => s.Points.Times.Length), DeviceBody.CountOf(encoded));
                Assert.True(next.SameAs(after!), $"seed {seed}: the receiver's context differs from the author's");
                Assert.Equal(key ? 0 : authored!.Depth + 1, next.Depth);
                authored = next;
                received = after;
            }
        }, iter: 400);
    }

    [Fact]
    public void A_live_reading_of_a_hundred_series_costs_bits_not_the_bytes_a_body_coded_alone_costs()
    {
        // One point per series per delta, the values moving slowly: what a station or the W7 load sends 10 times a second.
        var metrics = Enumerable.Range(0, 100).Select(m => $"m{m:D3}").ToArray();
        DeviceBody At(int step) => new([.. metrics.Select((m, i) =>
            (m, new PointsBody("W", [T0 + (step * 100L)], [Math.Round(20 + (5 * Math.Sin((step / 600.0) + i)), 1)], [])))]);
        DeviceContext? context = null;
        long coded = 0, alone = 0;
        for (var step = 0; step < 200; step++)
        {
            var body = At(step);
            coded += CodedDeviceBody.Encode(body, context, T0 + (step * 100L), out var next).Length;
            context = next;
            alone += body.Encode().Length;
        }

        var points = 200.0 * metrics.Length;
        Assert.True(coded / points < 0.6, $"coded: {coded / points:F2} B a point");
        Assert.True(alone / points > 20, $"alone: {alone / points:F2} B a point");
    }

    [Fact]
    public void A_coded_body_is_refused_without_its_context_or_against_another_with_the_reason()
    {
        var random = new Random(7);
        var chain = Chain(random, 3);
        var first = CodedDeviceBody.Encode(chain[0], null, chain[0].Series.Min(s => s.Points.Times[0]), out var context);
        var second = CodedDeviceBody.Encode(chain[1], context, chain[1].Series.Min(s => s.Points.Times[0]), out _);
        Assert.Null(DeviceBody.TryDecode(second, HeaderFor(chain[1]), out var missing));
        Assert.Contains("not known", missing, StringComparison.Ordinal);

        var other = CodedDeviceBody.Encode(Chain(new Random(8), 1)[0], null, T0, out var otherContext);
        Assert.NotNull(other);
        Assert.Null(DeviceBody.TryDecode(second, HeaderFor(chain[1]), otherContext, out _, out var wrong));
        Assert.Contains("another context", wrong, StringComparison.Ordinal);
        Assert.NotNull(DeviceBody.TryDecode(first, HeaderFor(chain[0]), null, out _, out _));
    }

    [Fact]
    public void Damaged_coded_bodies_never_throw_and_what_decodes_stays_in_the_window()
    {
        var random = new Random(11);
        var chain = Chain(random, 2);
        CodedDeviceBody.Encode(chain[0], null, chain[0].Series.Min(s => s.Points.Times[0]), out var context);
        var encoded = CodedDeviceBody.Encode(chain[1], context, chain[1].Series.Min(s => s.Points.Times[0]), out _);
        var header = HeaderFor(chain[1]);
        bool Sane(DeviceBody? decoded) =>
            decoded is null || decoded.Series.All(s => s.Points.Times.All(t => t >= header.T0 && t < header.T1) && s.Points.Values.All(double.IsFinite));
        Gen.Int[0, encoded.Length - 1].Select(Gen.Byte).Sample((at, value) =>
        {
            var damaged = (byte[])encoded.Clone();
            damaged[at] = value;
            Assert.True(Sane(DeviceBody.TryDecode(damaged, header, context, out _, out _)));
            DeviceBody.CountOf(damaged);
        }, iter: 5_000);
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            Assert.True(Sane(DeviceBody.TryDecode([.. "GDD2"u8, 0, .. bytes], header, null, out _, out _)));
            Assert.True(Sane(DeviceBody.TryDecode([.. "GDD2"u8, 1, .. bytes], header, context, out _, out _)));
            DeviceBody.CountOf([.. "GDD2"u8, 1, .. bytes]);
        }, iter: 5_000);
    }
    [Fact]
    public void A_value_step_that_would_overflow_is_refused_not_thrown()
    {
        // A key body of one series, one point: name "m", unit "W", at every table time, scale 0, first value step
        // coded as the widest step there is (zigzag 2^64 - 1, i.e. long.MinValue).
        var bits = "010" + "01101101" + "010" + "01010111" + "1" + "10" + "0000" + "111" + "111111" + new string('1', 64);
        var packed = new byte[(bits.Length + 7) / 8];
        for (var i = 0; i < bits.Length; i++)
        {
            if (bits[i] == '1')
                packed[i / 8] |= (byte)(0x80 >> (i % 8));
        }

        byte[] body = [.. "GDD2"u8, 0, 1, 1, 1, 0, .. packed];
        var header = HeaderFor(new DeviceBody([("m", new PointsBody("W", [T0], [1], []))]));
        Assert.Null(DeviceBody.TryDecode(body, header, null, out var next, out var error));
        Assert.Null(next);
        Assert.Contains("52 bits", error, StringComparison.Ordinal);

        // The same layout with a small step decodes: the bits above are the format, not noise.
        var small = "010" + "01101101" + "010" + "01010111" + "1" + "10" + "0000" + "10" + "0000";
        var smallPacked = new byte[(small.Length + 7) / 8];
        for (var i = 0; i < small.Length; i++)
        {
            if (small[i] == '1')
                smallPacked[i / 8] |= (byte)(0x80 >> (i % 8));
        }

        var decoded = DeviceBody.TryDecode([.. "GDD2"u8, 0, 1, 1, 1, 0, .. smallPacked], header, null, out _, out var smallError);
        Assert.True(decoded is not null, smallError);
        Assert.Equal(-1.0, Assert.Single(decoded.Series).Points.Values.Single());
    }

    [Fact]
    public void Points_a_receiver_refuses_still_move_its_context_on_so_the_stream_goes_on_decoding()
    {
        var chain = Chain(new Random(3), 3);
        var t0s = chain.Select(b => b.Series.Min(x => x.Points.Times[0])).ToList();
        var first = CodedDeviceBody.Encode(chain[0], null, t0s[0], out var c1);
        var second = CodedDeviceBody.Encode(chain[1], c1, t0s[1], out var c2);
        var third = CodedDeviceBody.Encode(chain[2], c2, t0s[2], out var c3);
        DeviceBody.TryDecode(first, HeaderFor(chain[0]), null, out var r1, out _);

        // The second delta's window ends before its last point: its points are refused, with the reason.
        var narrow = HeaderFor(chain[1]) with { T1 = chain[1].Series.Max(x => x.Points.Times[^1]) };
        Assert.Null(DeviceBody.TryDecode(second, narrow, r1, out var r2, out var refused));
        Assert.Contains("outside the delta's window", refused, StringComparison.Ordinal);
        Assert.True(r2!.SameAs(c2));
        Assert.NotNull(DeviceBody.TryDecode(third, HeaderFor(chain[2]), r2, out var r3, out var error) ?? throw new Xunit.Sdk.XunitException(error));
        Assert.True(r3!.SameAs(c3));
    }
}
