using System.Buffers.Binary;
using System.Text.Json;

namespace Grid.Edge.Hub.Api;

/// <summary>The points of one answer in columns (a day of 1 Hz data is 86,400 of them: no object per point).</summary>
internal sealed record PointSet(string Series, string Unit, long From, long To, long? Step, string? Agg, bool Truncated, long[] Times, double[] Values);

/// <summary>
/// Writes a <see cref="PointsResponse"/> straight to the response as it is serialised: a day of 1 Hz data is
/// 86,400 pairs, and general-purpose serialisation of nested arrays costs more than reading them from the store.
/// </summary>
internal sealed class PointsJsonResult(PointSet points) : IResult
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
        var number = new byte[32];
        for (var i = 0; i < points.Times.Length; i++)
        {
            json.WriteStartArray();
            json.WriteNumberValue(points.Times[i]);
            if (ShortDecimal.TryFormat(points.Values[i], number, out var written))
                json.WriteRawValue(number.AsSpan(0, written), skipInputValidation: true);
            else
                json.WriteNumberValue(points.Values[i]);
            json.WriteEndArray();
            if ((i + 1) % 8192 == 0)
                await json.FlushAsync(httpContext.RequestAborted);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(httpContext.RequestAborted);
    }
}

/// <summary>
/// Points as CSV for spreadsheets: an RFC 3339 time column, Unix ms, and the value in the series' unit. Written
/// to the response as it goes, so a million points cost the response's buffer, not a copy of the whole text.
/// </summary>
internal sealed class PointsCsvResult(PointSet points) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = new System.Net.Http.Headers.ContentDispositionHeaderValue("attachment") { FileName = points.Series.Replace('/', '_') + ".csv" }.ToString();
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        await using var text = new StreamWriter(response.BodyWriter.AsStream(), new System.Text.UTF8Encoding(false), 64 * 1024);
        var valueColumn = points.Agg ?? "value";
        await text.WriteAsync($"time,unix_ms,{valueColumn}{(points.Unit.Length > 0 ? $" ({points.Unit})" : string.Empty)}\n");
        for (var i = 0; i < points.Times.Length; i++)
        {
            var ms = points.Times[i];
            await text.WriteAsync(string.Create(culture, $"{DateTimeOffset.FromUnixTimeMilliseconds(ms):yyyy-MM-dd'T'HH:mm:ss.fff'Z'},{ms},{points.Values[i]:R}\n"));
            if ((i + 1) % 8192 == 0)
                await text.FlushAsync(httpContext.RequestAborted);
        }

        await text.FlushAsync(httpContext.RequestAborted);
    }
}

/// <summary>
/// The same points as little-endian float64 columns (<c>format=binary</c>): all times (Unix ms), then all values;
/// what the answer is about goes in <c>X-Grid-*</c> headers. A browser reads it with one <c>Float64Array</c>, with
/// no number formatting or parsing on either side: a day of 1 Hz data is 1.4 MB and copies straight out.
/// </summary>
internal sealed class PointsBinaryResult(PointSet points) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.ContentType = "application/octet-stream";
        response.Headers["X-Grid-Series"] = Uri.EscapeDataString(points.Series);
        response.Headers["X-Grid-Unit"] = Uri.EscapeDataString(points.Unit);
        response.Headers["X-Grid-From"] = points.From.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["X-Grid-To"] = points.To.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (points.Step is { } step)
            response.Headers["X-Grid-Step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (points.Agg is { } agg)
            response.Headers["X-Grid-Agg"] = agg;
        response.Headers["X-Grid-Truncated"] = points.Truncated ? "true" : "false";
        response.Headers["X-Grid-Points"] = points.Times.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentLength = points.Times.Length * 16L;
        const int PerWrite = 8192;
        for (var start = 0; start < points.Times.Length; start += PerWrite)
        {
            var n = Math.Min(PerWrite, points.Times.Length - start);
            var span = response.BodyWriter.GetSpan(n * 8);
            for (var i = 0; i < n; i++)
                BinaryPrimitives.WriteDoubleLittleEndian(span.Slice(i * 8, 8), points.Times[start + i]);
            response.BodyWriter.Advance(n * 8);
            await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }

        // Values go out as they are in memory where that is already little-endian.
        for (var start = 0; start < points.Values.Length; start += PerWrite)
        {
            var values = points.Values.AsSpan(start, Math.Min(PerWrite, points.Values.Length - start));
            var span = response.BodyWriter.GetSpan(values.Length * 8);
            if (BitConverter.IsLittleEndian)
            {
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(span);
            }
            else
            {
                for (var i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteDoubleLittleEndian(span.Slice(i * 8, 8), values[i]);
            }

            response.BodyWriter.Advance(values.Length * 8);
            await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }
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
