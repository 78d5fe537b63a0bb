using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// The body of a device delta (<see cref="ResolutionTier.Device"/>): the points of several series of one device, each
/// as a <see cref="PointsBody"/> under its metric name. Live deltas are coded against the stream's previous ones
/// (<see cref="CodedDeviceBody"/>, <c>GDD2</c>); coded alone (<see cref="Encode"/>): <c>GDD1</c>, a varint count of series, then per series (metric
/// names ascending, each once) the metric (length byte + UTF-8) and its points body (varint length + bytes). Every
/// series is checked against the delta's window and clock as a raw delta's body is; at most
/// <see cref="PointsBody.MaxPoints"/> points in all. Decoding never throws: the body comes from a peer.
/// </summary>
internal sealed record DeviceBody(IReadOnlyList<(string Metric, PointsBody Points)> Series)
{
    public const int MaxSeries = 4096;

    private static ReadOnlySpan<byte> Magic => "GDD1"u8;

    /// <summary>The series field of a device's stream.</summary>
    public static string SeriesOf(string device) => device + "/*";

    /// <summary>The device a device delta's series field names, or null when it is not <c>&lt;device&gt;/*</c>.</summary>
    public static string? DeviceOf(string series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!series.EndsWith("/*", StringComparison.Ordinal))
            return null;
        var device = series[..^2];
        return SeriesKey.TryParse(device + "/m", out var key) && key.Device == device ? device : null;
    }

    public byte[] Encode()
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.Varint((ulong)Series.Count);
        foreach (var (metric, points) in Series)
        {
            w.ShortString(metric);
            var body = points.Encode();
            w.Varint((ulong)body.Length);
            w.Bytes(body);
        }

        return w.ToArray();
    }

    /// <summary>The points a body holds, read without decoding them (0 when it is not a device body).</summary>
    public static long CountOf(ReadOnlySpan<byte> body)
    {
        if (CodedDeviceBody.Is(body))
            return CodedDeviceBody.CountOf(body);
        var reader = new WireReader(body);
        if (!reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic) || !reader.Varint("series count", out var count) || count > MaxSeries)
            return 0;
        long points = 0;
        for (var i = 0UL; i < count; i++)
        {
            if (!reader.ShortString("metric", 255, out _) || !reader.Varint("body length", out var length) || length > (ulong)reader.Remaining
                || !reader.Bytes((int)length, "body", out var series))
                return 0;
            points += PointsBody.CountOf(series);
            if (points > PointsBody.MaxPoints)
                return 0; // what TryDecode refuses holds no points
        }

        return points;
    }

    /// <summary>The body of <paramref name="header"/>'s device delta, every series checked; null with the reason.</summary>
    public static DeviceBody? TryDecode(ReadOnlySpan<byte> body, DeltaHeader header, out string? error) =>
        TryDecode(body, header, null, out _, out error);

    /// <summary>
    /// The body of <paramref name="header"/>'s device delta, coded alone (<c>GDD1</c>) or against the stream's
    /// <paramref name="context"/> (<c>GDD2</c>, <see cref="CodedDeviceBody"/>), every series checked; null with the
    /// reason. <paramref name="next"/> is the context the stream's next delta may be coded against (null after a
    /// <c>GDD1</c> body: coded bodies follow coded bodies only).
    /// </summary>
    public static DeviceBody? TryDecode(ReadOnlySpan<byte> body, DeltaHeader header, DeviceContext? context, out DeviceContext? next, out string? error)
    {
        ArgumentNullException.ThrowIfNull(header);
        error = null;
        next = null;
        var device = DeviceBody.DeviceOf(header.Series);
        if (device is not null && CodedDeviceBody.Is(body))
            return CodedDeviceBody.TryDecode(body, header, device, context, out next, out error);
        var reader = new WireReader(body);
        if (device is null || !reader.Bytes(Magic.Length, "magic", out var magic) || !magic.SequenceEqual(Magic))
        {
            error = "the body is not a device body (GDD1)";
            return null;
        }

        if (!reader.Varint("series count", out var count) || count is 0 or > MaxSeries)
        {
            error = reader.Error ?? $"{count} series, 1-{MaxSeries} expected";
            return null;
        }

        var series = new List<(string, PointsBody)>();
        long points = 0;
        string? previous = null;
        for (var i = 0UL; i < count; i++)
        {
            if (!reader.ShortString("metric", 255, out var metric) || !reader.Varint("body length", out var length))
            {
                error = reader.Error;
                return null;
            }

            if (!SeriesKey.TryParse(device + "/" + metric, out var key) || key.Metric != metric || (previous is not null && string.CompareOrdinal(previous, metric) >= 0))
            {
                error = $"series {i}: '{metric}' is not a metric name, or the names do not ascend";
                return null;
            }

            if (length > (ulong)reader.Remaining || !reader.Bytes((int)length, "points", out var raw))
            {
                error = $"series {metric}: {length} bytes claimed, {reader.Remaining} left";
                return null;
            }

            // Counted before decoding: many series of 40,000 points each must not be decoded to be refused.
            points += PointsBody.CountOf(raw);
            if (points > PointsBody.MaxPoints)
            {
                error = $"more than {PointsBody.MaxPoints} points in all";
                return null;
            }

            var decoded = PointsBody.TryDecode(raw, header, out var seriesError);
            if (decoded is null)
            {
                error = $"series {metric}: {seriesError}";
                return null;
            }

            series.Add((metric, decoded));
            previous = metric;
        }

        if (!reader.End("body"))
        {
            error = reader.Error;
            return null;
        }

        return new DeviceBody(series);
    }

    /// <summary>The points as readings of the device's series, each with the stamp it has at <paramref name="origin"/>.</summary>
    public IEnumerable<StampedReading> ToReadings(string device, string origin) =>
        Series.SelectMany(s => s.Points.ToReadings(new SeriesKey(device, s.Metric), origin));
}
