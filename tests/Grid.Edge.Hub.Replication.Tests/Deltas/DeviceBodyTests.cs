using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests.Deltas;

public sealed class DeviceBodyTests
{
    private const long T0 = 1_800_000_000_000;

    private static readonly Gen<DeviceBody> Bodies =
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 50], Gen.Int[0, 3]).Select((series, points, corrections) =>
            new DeviceBody([.. Enumerable.Range(0, series).Select(s =>
            {
                var times = Enumerable.Range(0, points).Select(i => T0 + (i * 1000L) + s).ToArray();
                var values = times.Select((_, i) => Math.Round(s + Math.Sin(i), 1)).ToArray();
                var fixes = Enumerable.Range(0, Math.Min(corrections, points)).Select(i => (i, WriteStamp.HlcOf(times[^1]) + i + 1)).ToList();
                return ($"m{s:D2}", new PointsBody(s % 2 == 0 ? "W" : "degC", times, values, fixes));
            })]));

    private static DeltaHeader HeaderFor(string series, long t0, long t1, long clockMs) =>
        new(TestGrid.Grid, DeltaHeader.StreamIdOf(series, ResolutionTier.Device), TestGrid.Hubs[0].HubId, series, ResolutionTier.Device, 1, Hash256.Zero,
            WriteStamp.HlcOf(clockMs), t0, t1, TestGrid.Hubs[0].KeyId, 0, Hash256.Zero);

    private static DeltaHeader HeaderFor(DeviceBody body) =>
        HeaderFor("tank/*", body.Series.Min(s => s.Points.Times[0]), body.Series.Max(s => s.Points.Times[^1]) + 1, body.Series.Max(s => s.Points.Times[^1]));

    [Fact]
    public void Every_body_decodes_to_the_same_series_points_and_stamps_and_counts_without_decoding()
    {
        Bodies.Sample(body =>
        {
            var encoded = body.Encode();
            var decoded = DeviceBody.TryDecode(encoded, HeaderFor(body), out var error);
            Assert.True(decoded is not null, error);
            Assert.Equal(body.Series.Select(s => s.Metric), decoded.Series.Select(s => s.Metric));
            Assert.Equal(body.Series.Sum(s => s.Points.Times.Length), DeviceBody.CountOf(encoded));
            var expected = body.ToReadings("tank", "origin").ToList();
            var got = decoded.ToReadings("tank", "origin").ToList();
            Assert.Equal(expected.Select(r => (r.Reading.Series.Id, r.Reading.TimestampMs, BitConverter.DoubleToInt64Bits(r.Reading.Value), r.Reading.Unit, r.Stamp)),
                got.Select(r => (r.Reading.Series.Id, r.Reading.TimestampMs, BitConverter.DoubleToInt64Bits(r.Reading.Value), r.Reading.Unit, r.Stamp)));
        }, iter: 300);
    }

    [Fact]
    public void The_series_field_names_one_device_and_the_header_refuses_anything_else()
    {
        Assert.Equal("tank", DeviceBody.DeviceOf("tank/*"));
        Assert.Null(DeviceBody.DeviceOf("tank/level"));
        Assert.Null(DeviceBody.DeviceOf("/*"));
        Assert.Null(DeviceBody.DeviceOf("a/b/*"));
        Assert.Null(DeviceBody.DeviceOf("ta nk/*"));
        Assert.Null(HeaderFor("tank/*", T0, T0 + 1, T0).Validate());
        Assert.NotNull(HeaderFor("tank/level", T0, T0 + 1, T0).Validate());
        Assert.NotNull((HeaderFor("tank/*", T0, T0 + 1, T0) with { Tier = ResolutionTier.Raw, Stream = DeltaHeader.StreamIdOf("tank/*", ResolutionTier.Raw) }).Validate());
    }

    [Fact]
    public void Bodies_that_break_a_rule_are_refused_with_the_reason()
    {
        PointsBody Points(params long[] times) => new("W", times, [.. times.Select(_ => 1.0)], []);
        var header = HeaderFor("tank/*", T0, T0 + 10_000, T0 + 10_000);
        string? Refusal(DeviceBody body)
        {
            Assert.Null(DeviceBody.TryDecode(body.Encode(), header, out var error));
            return error;
        }

        Assert.Contains("ascend", Refusal(new DeviceBody([("level", Points(T0)), ("flow", Points(T0))])), StringComparison.Ordinal);
        Assert.Contains("ascend", Refusal(new DeviceBody([("level", Points(T0)), ("level", Points(T0 + 1))])), StringComparison.Ordinal);
        Assert.Contains("not a metric", Refusal(new DeviceBody([("le vel", Points(T0))])), StringComparison.Ordinal);
        Assert.Contains("outside the delta's window", Refusal(new DeviceBody([("flow", Points(T0)), ("level", Points(T0 + 20_000))])), StringComparison.Ordinal);
        Assert.Contains("1-4096", Refusal(new DeviceBody([])), StringComparison.Ordinal);

        // Many series each below the limit, together above it: refused on the counts, before decoding the rest.
        var wide = HeaderFor("tank/*", T0, T0 + PointsBody.MaxPoints, T0 + PointsBody.MaxPoints);
        var many = new DeviceBody([.. Enumerable.Range(0, 3).Select(s => ($"m{s}", Points([.. Enumerable.Range(0, 20_000).Select(i => T0 + i)])))]);
        Assert.Null(DeviceBody.TryDecode(many.Encode(), wide, out var tooMany));
        Assert.Contains($"more than {PointsBody.MaxPoints} points", tooMany, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_or_random_bytes_never_throw_and_never_decode()
    {
        var body = new DeviceBody([("flow", new PointsBody("W", [T0, T0 + 5], [1, 2], [])), ("level", new PointsBody("m", [T0 + 1], [3], []))]);
        var encoded = body.Encode();
        var header = HeaderFor("tank/*", T0, T0 + 6, T0 + 6);
        Gen.Int[0, encoded.Length - 1].Select(Gen.Byte).Sample((at, value) =>
        {
            var damaged = (byte[])encoded.Clone();
            damaged[at] = value;
            var decoded = DeviceBody.TryDecode(damaged, header, out _);
            Assert.True(decoded is null || decoded.Series.All(s => s.Points.Times.All(t => t >= T0 && t < T0 + 6)));
            DeviceBody.CountOf(damaged);
        }, iter: 5_000);
        Gen.Byte.Array[0, 200].Sample(bytes => Assert.Null(DeviceBody.TryDecode([.. "GDD1"u8, .. bytes], header, out _)), iter: 5_000);
    }
}
