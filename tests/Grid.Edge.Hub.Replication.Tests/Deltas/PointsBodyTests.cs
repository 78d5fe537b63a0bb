using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Replication.Tests.Deltas;

public sealed class PointsBodyTests
{
    private static readonly Gen<PointsBody> Bodies =
        Gen.Select(Gen.Long[0, 1L << 40], Gen.Long[1, 60_000].Array[1, 400], Gen.Double[-1e6, 1e6], Gen.Int[0, 5], Gen.Int[0, 3].Select(i => new[] { "degC", "hPa", "%", "km/h" }[i]))
            .Select((t0, steps, scale, corrections, unit) =>
            {
                var times = new long[steps.Length];
                var t = t0;
                for (var i = 0; i < steps.Length; i++)
                    times[i] = t += steps[i];
                var values = times.Select((x, i) => Math.Round(scale * Math.Sin(i), i % 3)).ToArray();
                var fixes = Enumerable.Range(0, Math.Min(corrections, times.Length)).Select(i => (Index: i * times.Length / Math.Max(1, corrections), Hlc: WriteStamp.HlcOf(times[^1]) + i + 1))
                    .DistinctBy(c => c.Index).ToList();
                return new PointsBody(unit, times, values, fixes);
            });

    private static DeltaHeader HeaderFor(PointsBody body, long? t0 = null, long? t1 = null) =>
        new(TestGrid.Grid, DeltaHeader.StreamIdOf("van/coolant", ResolutionTier.Raw), TestGrid.Hubs[0].HubId, "van/coolant", ResolutionTier.Raw, 1, Hash256.Zero,
            WriteStamp.HlcOf(body.Times[^1]), t0 ?? body.Times[0], t1 ?? body.Times[^1] + 1, TestGrid.Hubs[0].KeyId, 0, Hash256.Zero);

    [Fact]
    public void Every_body_decodes_to_the_same_points_units_and_stamps()
    {
        Bodies.Sample(body =>
        {
            var decoded = PointsBody.TryDecode(body.Encode(), HeaderFor(body), out var error);
            Assert.True(decoded is not null, error);
            Assert.Equal(body.Unit, decoded.Unit);
            Assert.Equal(body.Times, decoded.Times);
            Assert.Equal(body.Values.Select(BitConverter.DoubleToInt64Bits), decoded.Values.Select(BitConverter.DoubleToInt64Bits));
            Assert.Equal(body.Corrections, decoded.Corrections);

            // The stamps a receiver stores: the first write's for every point but the corrected ones.
            var readings = decoded.ToReadings(new SeriesKey("van", "coolant"), "origin");
            var corrected = body.Corrections.ToDictionary(c => c.Index, c => c.Hlc);
            for (var i = 0; i < readings.Length; i++)
            {
                Assert.Equal(corrected.TryGetValue(i, out var hlc) ? hlc : WriteStamp.HlcOf(body.Times[i]), readings[i].Stamp.Hlc);
                Assert.Equal("origin", readings[i].Stamp.Origin);
            }
        }, iter: 500);
    }

    [Fact]
    public void A_body_whose_points_leave_the_signed_window_is_refused()
    {
        var body = new PointsBody("degC", [1000, 2000, 3000], [1, 2, 3], []);
        Assert.NotNull(PointsBody.TryDecode(body.Encode(), HeaderFor(body), out _));
        Assert.Null(PointsBody.TryDecode(body.Encode(), HeaderFor(body, t0: 1500), out var early));
        Assert.Contains("outside the delta's window", early, StringComparison.Ordinal);
        Assert.Null(PointsBody.TryDecode(body.Encode(), HeaderFor(body, t1: 3000), out var late));
        Assert.Contains("outside the delta's window", late, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrections_must_name_points_of_the_body_in_order()
    {
        var outside = new PointsBody("degC", [1000, 2000], [1, 2], [(2, 99)]);
        Assert.Null(PointsBody.TryDecode(outside.Encode(), HeaderFor(outside), out var error));
        Assert.Contains("correction names a point", error, StringComparison.Ordinal);
        var unordered = new PointsBody("degC", [1000, 2000, 3000], [1, 2, 3], [(1, 99), (0, 98)]);
        Assert.Null(PointsBody.TryDecode(unordered.Encode(), HeaderFor(unordered), out error));
        Assert.Contains("ascend", error, StringComparison.Ordinal);

        // A correction may not drag a receiver's clock far past the delta's own (which the receiver bounds).
        var ahead = new PointsBody("degC", [1000, 2000], [1, 2], [(1, long.MaxValue / 2)]);
        Assert.Null(PointsBody.TryDecode(ahead.Encode(), HeaderFor(ahead), out error));
        Assert.Contains("too far ahead", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_few_bytes_claiming_millions_of_points_are_refused_before_anything_is_allocated_for_them()
    {
        var small = new PointsBody("degC", [1000], [1], []).Encode();
        var prefix = small.Length - Storage.Compression.ChunkCodec.Encode([1000], [1]).Length;
        byte[] claim = [.. small[..prefix], small[prefix], 0x80, 0xC2, 0xD7, 0x2F]; // the chunk's version, then 100,000,000 as a varint
        Assert.Null(PointsBody.TryDecode(claim, HeaderFor(new PointsBody("degC", [1000], [1], [])), out var error));
        Assert.Contains("100000000 points", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_or_random_bytes_never_throw_and_never_decode_to_points_outside_the_window()
    {
        var valid = new PointsBody("hPa", [.. Enumerable.Range(0, 50).Select(i => 10_000L + (i * 1000))], [.. Enumerable.Range(0, 50).Select(i => 1000 + (i * 0.1))], [(3, 12345)]);
        var encoded = valid.Encode();
        var header = HeaderFor(valid);
        Gen.Select(Gen.Int[0, encoded.Length - 1], Gen.Byte, Gen.Int[0, encoded.Length]).Sample((at, value, cut) =>
        {
            var damaged = encoded.ToArray();
            damaged[at] = value;
            foreach (var bytes in new[] { damaged, damaged[..cut] })
            {
                var decoded = PointsBody.TryDecode(bytes, header, out var error);
                if (decoded is null)
                {
                    Assert.False(string.IsNullOrEmpty(error));
                    continue;
                }

                Assert.All(decoded.Times, t => Assert.InRange(t, header.T0, header.T1 - 1));
                Assert.All(decoded.Values, v => Assert.True(double.IsFinite(v)));
            }
        }, iter: 3000);
        Gen.Byte.Array[0, 300].Sample(bytes => Assert.Null(PointsBody.TryDecode(bytes, header, out _)), iter: 1000);
    }
}
