using System.Text.Json;

namespace Grid.Edge.Hub.Api;

/// <summary>
/// Writes a <see cref="PointsResponse"/> straight to the response as it is serialised: a day of 1 Hz data is
/// 86,400 pairs, and general-purpose serialisation of nested arrays costs more than reading them from the store.
/// </summary>
internal sealed class PointsJsonResult(PointsResponse points) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(httpContext.Response.BodyWriter.AsStream(), new JsonWriterOptions { SkipValidation = true });
        json.WriteStartObject();
        json.WriteString("series", points.Series);
        json.WriteString("unit", points.Unit);
        json.WriteNumber("from", points.From);
        json.WriteNumber("to", points.To);
        if (points.Step is { } step)
            json.WriteNumber("step", step);
        else
            json.WriteNull("step");
        if (points.Agg is { } agg)
            json.WriteString("agg", agg);
        else
            json.WriteNull("agg");
        json.WriteBoolean("truncated", points.Truncated);
        json.WriteStartArray("points");
        var written = 0;
        foreach (var point in points.Points)
        {
            json.WriteStartArray();
            json.WriteNumberValue((long)point[0]);
            json.WriteNumberValue(point[1]);
            json.WriteEndArray();
            if (++written % 8192 == 0)
                await json.FlushAsync(httpContext.RequestAborted);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(httpContext.RequestAborted);
    }
}

/// <summary>Writes the aggregates of many series of one device straight to the response (see <see cref="PointsJsonResult"/>).</summary>
internal sealed class DevicePointsJsonResult(string device, long from, long to, long step, string agg, IReadOnlyDictionary<Grid.Edge.Protocol.Readings.SeriesKey, IReadOnlyList<Grid.Edge.Hub.Storage.AggregatePoint>> series, Func<Grid.Edge.Hub.Storage.AggregatePoint, double> pick) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(httpContext.Response.BodyWriter.AsStream(), new JsonWriterOptions { SkipValidation = true });
        json.WriteStartObject();
        json.WriteString("device", device);
        json.WriteNumber("from", from);
        json.WriteNumber("to", to);
        json.WriteNumber("step", step);
        json.WriteString("agg", agg);
        json.WriteStartObject("series");
        foreach (var (key, buckets) in series.OrderBy(s => s.Key.Metric, StringComparer.Ordinal))
        {
            json.WriteStartArray(key.Metric);
            foreach (var bucket in buckets)
            {
                json.WriteStartArray();
                json.WriteNumberValue(bucket.BucketStartMs);
                json.WriteNumberValue(pick(bucket));
                json.WriteEndArray();
            }

            json.WriteEndArray();
            if (json.BytesPending > 64 * 1024)
                await json.FlushAsync(httpContext.RequestAborted);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(httpContext.RequestAborted);
    }
}
