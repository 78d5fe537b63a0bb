using CsCheck;
using Grid.Edge.Hub.Storage.Compression;

namespace Grid.Edge.Hub.Storage.Tests;

public class ChunkCodecTests
{
    private const long T0 = 1_795_341_600_000;

    private static void AssertRoundTrip(long[] timestamps, double[] values)
    {
        var (t, v) = ChunkCodec.Decode(ChunkCodec.Encode(timestamps, values));
        Assert.Equal(timestamps, t);
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), v.Select(BitConverter.DoubleToInt64Bits));
    }

    private static readonly Gen<long[]> Timestamps =
        Gen.Select(Gen.Long[0, T0], Gen.OneOf(Gen.Long[1, 2], Gen.Long[1, 10_000], Gen.Long[1, long.MaxValue / 200_000]).Array[0, 600])
            .Select((start, gaps) =>
            {
                var t = new long[gaps.Length + 1];
                t[0] = start;
                for (var i = 0; i < gaps.Length; i++)
                    t[i + 1] = t[i] + gaps[i];
                return t;
            });

    [Fact]
    public void One_decimal_random_walks_round_trip_bit_for_bit()
    {
        Gen.Select(Timestamps, Gen.Int[-5000, 5000], Gen.Int[-3, 3].Array[601]).Sample((t, start, steps) =>
        {
            var values = new double[t.Length];
            var k = start;
            for (var i = 0; i < t.Length; i++)
            {
                k += steps[i];
                values[i] = k / 10.0;
            }

            AssertRoundTrip(t, values);
        }, iter: 3_000);
    }

    [Fact]
    public void Any_doubles_round_trip_bit_for_bit_including_nan_infinity_and_negative_zero()
    {
        var special = Gen.OneOf<double>(0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, 0.1, 1e-300);
        var anyDouble = Gen.OneOf(Gen.Long.Select(BitConverter.Int64BitsToDouble), Gen.Double, special);
        Gen.Select(Timestamps, anyDouble.Array[601]).Sample((t, values) => AssertRoundTrip(t, values[..t.Length]), iter: 3_000);
    }

    [Fact]
    public void Constants_and_mixed_decimals_round_trip()
    {
        Gen.Select(Timestamps, Gen.Int[0, 6], Gen.Long[-1_000_000, 1_000_000]).Sample((t, decimals, start) =>
        {
            var values = t.Select((_, i) => Math.Round((start + i * 7) / Math.Pow(10, decimals), decimals)).ToArray();
            AssertRoundTrip(t, values);
            AssertRoundTrip(t, t.Select(_ => 21.5).ToArray());
        }, iter: 2_000);
    }

    [Fact]
    public void Sensor_shaped_data_compresses_well()
    {
        var random = new Random(7);
        var t = Enumerable.Range(0, 3600).Select(i => T0 + i * 1000L).ToArray();
        var walk = new double[t.Length];
        var k = 215;
        for (var i = 0; i < walk.Length; i++)
        {
            k += random.Next(-1, 2);
            walk[i] = k / 10.0;
        }

        var constant = t.Select(_ => 1013.2).ToArray();
        var noise = t.Select(_ => random.NextDouble() * 100).ToArray();
        double BytesPerPoint(double[] values) => (double)ChunkCodec.Encode(t, values).Length / t.Length;

        Assert.True(BytesPerPoint(walk) < 0.5, $"1-decimal walk: {BytesPerPoint(walk):0.00} B/point");
        Assert.True(BytesPerPoint(constant) < 0.05, $"constant: {BytesPerPoint(constant):0.00} B/point");
        var jittered = t.Select((x, i) => x + (i % 7 == 0 ? 1 : 0)).ToArray();
        AssertRoundTrip(jittered, walk);
        Assert.True((double)ChunkCodec.Encode(jittered, walk).Length / t.Length < 1.0, "jittered timestamps stay compact");
        Assert.True(BytesPerPoint(noise) < 7.2, $"random float64: {BytesPerPoint(noise):0.00} B/point");
        var single = t.Select(_ => (double)(float)(random.NextDouble() * 100)).ToArray();
        AssertRoundTrip(t, single);
        Assert.True(BytesPerPoint(single) < 3.5, $"single-precision noise: {BytesPerPoint(single):0.00} B/point");
    }

    [Fact]
    public void Full_precision_values_of_few_exponents_round_trip_whatever_their_mix()
    {
        // Values drawn from a handful of binades, in any order, with single-precision and exact-zero mantissas
        // mixed in: every path of the exponent list (hit at each position, miss when full) and every mantissa shift.
        var exponent = Gen.Int[-3, 8];
        var value = Gen.Select(exponent, Gen.Double[1, 2], Gen.Int[0, 3], Gen.Bool).Select((e, m, kind, negative) =>
        {
            var v = Math.ScaleB(kind switch { 0 => m, 1 => (float)m, 2 => 1.0, _ => Math.Round(m, 6) }, e);
            return negative ? -v : v;
        });
        Gen.Select(Timestamps, value.Array[601]).Sample((t, values) => AssertRoundTrip(t, values[..t.Length]), iter: 3_000);
    }

    [Fact]
    public void Corrupt_chunks_are_refused_not_misread()
    {
        var bytes = ChunkCodec.Encode([T0, T0 + 1000, T0 + 2000], [1.5, 1.6, 1.7]);
        Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(bytes.AsSpan(0, bytes.Length - 2)));
        var wrongVersion = (byte[])bytes.Clone();
        wrongVersion[0] = 99;
        Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(wrongVersion));
        // Garbage is refused with a reason; what it decodes to, if anything, is a chunk the codec writes back the same.
        Gen.Byte.Array[0, 64].Sample(garbage =>
        {
            if (Refused(garbage) is null)
            {
                var (t, v) = ChunkCodec.Decode(garbage);
                Assert.Equal(t.Length, v.Length);
                AssertRoundTrip(t, v);
            }
        }, iter: 5_000);
    }

    [Fact]
    public void A_cut_short_or_padded_chunk_is_refused_with_a_reason_or_decodes_to_its_own_points()
    {
        // Every prefix of a real chunk, and the chunk with bytes after it: refused, or exactly the points written.
        var refusals = 0;
        Gen.Select(Timestamps, Gen.Double[-1000, 1000].Array[601], Gen.Bool, Gen.Byte.Array[1, 8]).Sample((t, values, decimals, extra) =>
        {
            var v = values[..t.Length].Select(x => decimals ? Math.Round(x, 1) : x).ToArray();
            var bytes = ChunkCodec.Encode(t, v);
            // Every cut of a short chunk; of a long one, 64 spread over it and the last 16.
            var cuts = bytes.Length <= 80 ? Enumerable.Range(0, bytes.Length)
                : Enumerable.Range(0, 64).Select(i => i * bytes.Length / 64).Concat(Enumerable.Range(bytes.Length - 16, 16));
            foreach (var cut in cuts)
            {
                if (Refused(bytes.AsSpan(0, cut).ToArray()) is null)
                    AssertSamePoints(bytes.AsSpan(0, cut).ToArray(), t, v);
                else
                    refusals++;
            }

            if (Refused([.. bytes, .. extra]) is null)
                AssertSamePoints([.. bytes, .. extra], t, v);
        }, iter: 300);
        Assert.True(refusals > 0);
    }

    /// <summary>The reason a chunk is refused (never empty), or null when it decodes; any other exception fails.</summary>
    private static string? Refused(byte[] bytes)
    {
        try
        {
            ChunkCodec.Decode(bytes);
            return null;
        }
        catch (InvalidDataException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message), "a refusal without a reason");
            return e.Message;
        }
    }

    private static void AssertSamePoints(byte[] bytes, long[] timestamps, double[] values)
    {
        var (t, v) = ChunkCodec.Decode(bytes);
        Assert.Equal(timestamps, t);
        Assert.Equal(values.Select(BitConverter.DoubleToInt64Bits), v.Select(BitConverter.DoubleToInt64Bits));
    }
}

public class RollupCodecTests
{
    [Fact]
    public void Packed_minute_rollups_round_trip()
    {
        var entry = Gen.Select(Gen.Long[1, 60_000], Gen.Double, Gen.Double, Gen.Double).Select((count, a, b, c) => (count, a, b, c));
        entry.Array[0, 60].Sample(items =>
        {
            var entries = items.Select((e, i) => new RollupEntry(1_795_341_600_000 + i * 60_000L, e.count, e.a, Math.Min(e.b, e.c), Math.Max(e.b, e.c), e.b, e.c)).ToList();
            Assert.Equal(entries, RollupCodec.Decode(RollupCodec.Encode(entries)));
        }, iter: 2_000);
    }
}
