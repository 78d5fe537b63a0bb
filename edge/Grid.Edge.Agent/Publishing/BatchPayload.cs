using Grid.Edge.Agent.Outbox;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Agent.Publishing;

/// <summary>
/// The hub's batch formats: JSON {"readings":[{"m":..,"v":..,"t":..,"unit":..}]} (t in Unix milliseconds), and the
/// binary columns message.
/// </summary>
internal static class BatchPayload
{
    // A point costs 8 bytes of value and at most 10 of time in a columns message; a series its names and counts.
    private const int ColumnPointBytes = 18;
    private const int ColumnSeriesBytes = 24;

    /// <summary>
    /// Like <see cref="Write"/>, as a columns message: the readings from the start of <paramref name="batch"/>, each
    /// metric's in their outbox order. Null when one of them has a name a columns message cannot carry (the JSON
    /// batch then takes it, and the hub says why it refuses it).
    /// </summary>
    public static byte[]? WriteColumns(IReadOnlyList<StoredReading> batch, int maxBytes, out int count)
    {
        var series = new Dictionary<(string Metric, string Unit), (List<long> Times, List<double> Values)>();
        long bytes = 16;
        count = 0;
        foreach (var (_, reading) in batch)
        {
            var key = (reading.Metric, reading.Unit);
            var fresh = !series.TryGetValue(key, out var columns);
            var cost = ColumnPointBytes + (fresh ? ColumnSeriesBytes + reading.Metric.Length * 3 + reading.Unit.Length * 3 : 0);
            if (count > 0 && bytes + cost > maxBytes)
                break;
            if (fresh)
            {
                if (!GridTopic.IsValidSegment(reading.Metric, out _) || reading.Unit.Length > 64)
                    return null;
                series[key] = columns = ([], []);
            }

            columns.Times.Add(reading.TimestampMs);
            columns.Values.Add(reading.Value);
            bytes += cost;
            count++;
        }

        var writer = new ColumnBatchWriter();
        foreach (var ((metric, unit), (times, values)) in series)
            writer.Add(metric, unit, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(times), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(values));
        return writer.ToArray();
    }

    /// <summary>
    /// Writes readings from the start of <paramref name="batch"/> until the next would take the payload past
    /// <paramref name="maxBytes"/> (the hub refuses larger messages whole); <paramref name="count"/> says how many went in.
    /// </summary>
    public static byte[] Write(IReadOnlyList<StoredReading> batch, int maxBytes, out int count)
    {
        using var writer = new JsonBatchWriter(maxBytes, batch.Count);
        foreach (var (_, reading) in batch)
        {
            if (!writer.TryAdd(reading.Metric, reading.Value, reading.TimestampMs, reading.Unit))
                break;
        }

        count = writer.Count;
        return writer.ToArray();
    }
}
