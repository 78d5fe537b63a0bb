using System.Buffers;
using System.Text.Json;

namespace Grid.Edge.Protocol.Readings;

/// <summary>
/// What an agent says about itself on its retained <c>grid/&lt;device&gt;/agent</c> topic:
/// <c>{"link":"connected","outboxReadings":0,"oldestUnsentMs":null,"droppedReadings":0,"lastError":null,"vehicle":"Running","version":"1.0"}</c>.
/// </summary>
public sealed record AgentReport(string Link, long OutboxReadings, long? OldestUnsentMs, long DroppedReadings, string? LastError, string? Vehicle, string? Version)
{
    public const int MaxBytes = 4096;

    /// <summary>Parses and checks a report; <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryParse(ReadOnlySequence<byte> payload, out AgentReport report, out string error)
    {
        report = new AgentReport("unknown", 0, null, 0, null, null, null);
        if (payload.Length > MaxBytes)
        {
            error = $"is {payload.Length} bytes; the limit is {MaxBytes}";
            return false;
        }

        string? link = null;
        long outbox = 0;
        long? oldest = null;
        long dropped = 0;
        string? lastError = null;
        string? vehicle = null;
        string? version = null;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "must be a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "link": link = Text(ref reader, 32); break;
                    case "outboxReadings": outbox = Count(ref reader); break;
                    case "oldestUnsentMs": oldest = reader.TokenType == JsonTokenType.Null ? null : Count(ref reader); break;
                    case "droppedReadings": dropped = Count(ref reader); break;
                    case "lastError": lastError = Text(ref reader, 500); break;
                    case "vehicle": vehicle = Text(ref reader, 32); break;
                    case "version": version = Text(ref reader, 64); break;
                    default: reader.Skip(); break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            error = "is not valid: " + e.Message;
            return false;
        }

        if (string.IsNullOrEmpty(link))
        {
            error = "has no \"link\"";
            return false;
        }

        report = new AgentReport(link, outbox, oldest, dropped, lastError, vehicle, version);
        error = string.Empty;
        return true;
    }

    private static string? Text(ref Utf8JsonReader reader, int maxLength)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.String)
            throw new FormatException($"expected a string, got {reader.TokenType}");
        var text = reader.GetString()!;
        return text.Length <= maxLength ? text : text[..maxLength];
    }

    private static long Count(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
            throw new FormatException("expected a whole number of at least 0");
        return value;
    }
}
