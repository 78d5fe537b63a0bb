using System.Buffers;
using System.Text.Json;
using Grid.Edge.Agent.Outbox;

namespace Grid.Edge.Agent.Publishing;

/// <summary>The hub's batch format: {"readings":[{"m":..,"v":..,"t":..,"unit":..}]}, t in Unix milliseconds.</summary>
internal static class BatchPayload
{
    /// <summary>
    /// Writes readings from the start of <paramref name="batch"/> until the next would take the payload past
    /// <paramref name="maxBytes"/> (the hub refuses larger messages whole); <paramref name="count"/> says how many went in.
    /// </summary>
    public static byte[] Write(IReadOnlyList<StoredReading> batch, int maxBytes, out int count)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Min(maxBytes, batch.Count * 64) + 64);
        count = 0;
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("readings");
            foreach (var (_, reading) in batch)
            {
                json.Flush();
                // Room for this reading (names up to 64 characters, a number, a time, a unit) and the closing brackets.
                if (count > 0 && buffer.WrittenCount + json.BytesPending + 64 + 24 + 20 + 32 + reading.Metric.Length + reading.Unit.Length > maxBytes)
                    break;
                json.WriteStartObject();
                json.WriteString("m", reading.Metric);
                json.WriteNumber("v", reading.Value);
                json.WriteNumber("t", reading.TimestampMs);
                if (reading.Unit.Length > 0)
                    json.WriteString("unit", reading.Unit);
                json.WriteEndObject();
                count++;
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
