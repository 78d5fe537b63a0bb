using System.Buffers;
using System.Text.Json;
using Grid.Edge.Agent.Outbox;

namespace Grid.Edge.Agent.Publishing;

/// <summary>The hub's batch format: {"readings":[{"m":..,"v":..,"t":..,"unit":..}]}, t in Unix milliseconds.</summary>
internal static class BatchPayload
{
    public static byte[] Write(IReadOnlyList<StoredReading> batch)
    {
        var buffer = new ArrayBufferWriter<byte>(batch.Count * 64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("readings");
            foreach (var (_, reading) in batch)
            {
                json.WriteStartObject();
                json.WriteString("m", reading.Metric);
                json.WriteNumber("v", reading.Value);
                json.WriteNumber("t", reading.TimestampMs);
                if (reading.Unit.Length > 0)
                    json.WriteString("unit", reading.Unit);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
