using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Protocol.Payloads;

/// <summary>
/// Turns an MQTT message under <c>grid/</c> into validated readings and reasoned rejections (DESIGN section 3).
/// Never throws on device input: every failure becomes a <see cref="Rejection"/>.
/// </summary>
public sealed partial class ReadingDecoder
{
    private static readonly JsonReaderOptions JsonOptions = new() { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow };

    private readonly ReadingDecoderOptions _options;
    private readonly long _earliestMs;

    public ReadingDecoder(ReadingDecoderOptions? options = null)
    {
        _options = options ?? new ReadingDecoderOptions();
        _earliestMs = _options.Earliest.ToUnixTimeMilliseconds();
    }

    public ReadingDecoderOptions Options => _options;

    /// <summary>Decodes one message. <paramref name="arrivalMs"/> stamps readings that carry no time.</summary>
    public DecodedMessage Decode(string topic, ReadOnlySequence<byte> payload, long arrivalMs)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var message = new DecodedMessage();
        if (!GridTopic.TryParse(topic, out var parsed, out var topicError))
        {
            message.Rejections.Add(new Rejection(RejectReason.BadTopic, $"{topicError} (topic '{Printable(topic)}')", DeviceOf(topic), null));
            return message;
        }

        message.Kind = parsed.Kind;
        message.Device = parsed.Device;
        if (payload.Length > _options.MaxPayloadBytes)
        {
            message.Rejections.Add(new Rejection(
                RejectReason.PayloadTooLarge,
                $"payload is {payload.Length} bytes; the limit is {_options.MaxPayloadBytes}",
                parsed.Device,
                parsed.Metric));
            return message;
        }

        switch (parsed.Kind)
        {
            case GridTopicKind.Status:
                DecodeStatus(parsed.Device, payload, message);
                break;
            case GridTopicKind.Batch:
                DecodeBatch(parsed.Device, payload, arrivalMs, message);
                break;
            case GridTopicKind.Columns:
                DecodeColumns(parsed.Device, payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray(), arrivalMs, message);
                break;
            case GridTopicKind.Agent:
                if (AgentReport.TryParse(payload, out var report, out var agentError))
                    message.Agent = report;
                else
                    message.Rejections.Add(new Rejection(RejectReason.BadStatus, "agent report " + agentError, parsed.Device, null));
                break;
            default:
                DecodeSingle(parsed.Device, parsed.Metric!, payload, arrivalMs, message);
                break;
        }

        return message;
    }

    public DecodedMessage Decode(string topic, ReadOnlySpan<byte> payload, long arrivalMs) =>
        Decode(topic, new ReadOnlySequence<byte>(payload.ToArray()), arrivalMs);

    private static void DecodeStatus(string device, ReadOnlySequence<byte> payload, DecodedMessage message)
    {
        var text = payload.Length <= 64 ? Encoding.UTF8.GetString(payload).Trim() : string.Empty;
        if (text.Equals("online", StringComparison.OrdinalIgnoreCase))
            message.Status = DeviceStatus.Online;
        else if (text.Equals("offline", StringComparison.OrdinalIgnoreCase))
            message.Status = DeviceStatus.Offline;
        else
            message.Rejections.Add(new Rejection(RejectReason.BadStatus, $"status must be 'online' or 'offline', got '{Printable(text)}'", device, null));
    }

    private void DecodeSingle(string device, string metric, ReadOnlySequence<byte> payload, long arrivalMs, DecodedMessage message)
    {
        var first = FirstNonWhitespace(payload);
        if (first != (byte)'{')
        {
            // A bare number: the hub stamps the arrival time.
            var span = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
            span = TrimAscii(span);
            if (span.IsEmpty)
            {
                message.Rejections.Add(new Rejection(RejectReason.MissingValue, "payload is empty", device, metric));
                return;
            }

            if (!TryParseNumber(span, out var bare, out var finite))
            {
                message.Rejections.Add(new Rejection(
                    RejectReason.UnparsablePayload,
                    $"payload '{Preview(span)}' is not a number nor a JSON object",
                    device,
                    metric));
                return;
            }

            if (!finite)
            {
                message.Rejections.Add(new Rejection(RejectReason.NonFiniteValue, $"value '{Preview(span)}' is not finite", device, metric));
                return;
            }

            Validate(device, new RawReading(metric, bare, null, null, null), arrivalMs, message);
            return;
        }

        var reader = new Utf8JsonReader(payload, JsonOptions);
        try
        {
            reader.Read();
            if (!TryReadReadingObject(ref reader, out var raw, out var error, metricRequired: false))
            {
                message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, error!, device, metric));
                return;
            }

            EnsureEnd(ref reader);
            Validate(device, raw with { Metric = metric }, arrivalMs, message);
        }
        catch (JsonException ex)
        {
            message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, "invalid JSON: " + ShortJsonError(ex), device, metric));
        }
    }

    private void DecodeBatch(string device, ReadOnlySequence<byte> payload, long arrivalMs, DecodedMessage message)
    {
        var raws = new List<RawReading>();
        var reader = new Utf8JsonReader(payload, JsonOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, "a batch is a JSON object {\"readings\":[...]}", device, null));
                return;
            }

            var sawReadings = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("readings"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, "\"readings\" must be an array", device, null));
                    return;
                }

                sawReadings = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (raws.Count == _options.MaxBatchReadings)
                    {
                        var total = raws.Count + CountRemainingItems(ref reader);
                        message.Rejections.Add(new Rejection(
                            RejectReason.BatchTooLarge,
                            $"batch holds {total} readings; the limit is {_options.MaxBatchReadings}: split it",
                            device,
                            null,
                            total));
                        return;
                    }

                    if (TryReadReadingObject(ref reader, out var raw, out var error, metricRequired: true))
                        raws.Add(raw);
                    else
                        raws.Add(new RawReading(null, double.NaN, null, null, error));
                }
            }

            EnsureEnd(ref reader);
            if (!sawReadings)
            {
                message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, "a batch needs a \"readings\" array", device, null));
                return;
            }
        }
        catch (JsonException ex)
        {
            // A torn or corrupt document: nothing in it can be trusted, so nothing of it is stored.
            message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, "invalid JSON: " + ShortJsonError(ex), device, null, Math.Max(1, raws.Count)));
            return;
        }

        foreach (var raw in raws)
        {
            if (raw.Error is not null)
                message.Rejections.Add(new Rejection(RejectReason.UnparsablePayload, raw.Error, device, raw.Metric));
            else
                Validate(device, raw, arrivalMs, message);
        }
    }

    private static int CountRemainingItems(ref Utf8JsonReader reader)
    {
        var count = 0;
        do
        {
            reader.Skip();
            count++;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);
        return count;
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
            throw new JsonException("unexpected data after the JSON value");
    }

    /// <summary>Reads <c>{"m":..,"v":..,"t":..,"unit":..}</c>; positioned on its StartObject, leaves it on EndObject.</summary>
    private static bool TryReadReadingObject(ref Utf8JsonReader reader, out RawReading raw, out string? error, bool metricRequired)
    {
        raw = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            error = "a reading must be a JSON object";
            return false;
        }

        string? metric = null;
        double? value = null;
        long? timestamp = null;
        string? unit = null;
        error = null;
        var valueError = default(RejectReason?);
        string? valueErrorDetail = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("v"u8))
            {
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.Number:
                        if (reader.TryGetDouble(out var number) && double.IsFinite(number))
                            value = number;
                        else
                            (valueError, valueErrorDetail) = (RejectReason.NonFiniteValue, "value is out of the range of a double");
                        break;
                    case JsonTokenType.String:
                        var text = reader.GetString()!;
                        if (TryParseNumber(Encoding.UTF8.GetBytes(text.Trim()), out var parsed, out var finite))
                        {
                            if (finite)
                                value = parsed;
                            else
                                (valueError, valueErrorDetail) = (RejectReason.NonFiniteValue, $"value '{Printable(text)}' is not finite");
                        }
                        else
                        {
                            (valueError, valueErrorDetail) = (RejectReason.UnparsablePayload, $"value '{Printable(text)}' is not a number");
                        }

                        break;
                    case JsonTokenType.True:
                        value = 1;
                        break;
                    case JsonTokenType.False:
                        value = 0;
                        break;
                    case JsonTokenType.Null:
                        break;
                    default:
                        reader.Skip();
                        (valueError, valueErrorDetail) = (RejectReason.UnparsablePayload, "\"v\" must be a number");
                        break;
                }
            }
            else if (reader.ValueTextEquals("t"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    if (reader.TryGetInt64(out var ms))
                        timestamp = ms;
                    else
                        (valueError, valueErrorDetail) = (RejectReason.BadTimestamp, "\"t\" as a number must be integer Unix milliseconds");
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    var text = reader.GetString()!;
                    if (TryParseRfc3339(text, out var instant))
                        timestamp = instant.ToUnixTimeMilliseconds();
                    else
                        (valueError, valueErrorDetail) = (RejectReason.BadTimestamp, $"\"t\" '{Printable(text)}' is not RFC 3339 with an offset (e.g. 2026-11-22T10:00:00Z)");
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    reader.Skip();
                    (valueError, valueErrorDetail) = (RejectReason.BadTimestamp, "\"t\" must be an RFC 3339 string or Unix milliseconds");
                }
            }
            else if (reader.ValueTextEquals("unit"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                    unit = reader.GetString();
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    reader.Skip();
                    (valueError, valueErrorDetail) = (RejectReason.UnitMismatch, "\"unit\" must be a string");
                }
            }
            else if (reader.ValueTextEquals("m"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                    metric = reader.GetString();
                else
                    reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
            throw new JsonException("unterminated reading object");

        if (metricRequired && metric is null)
        {
            raw = new RawReading(null, double.NaN, null, null, null) { Reason = RejectReason.BadMetric, Detail = "batch item has no \"m\" (metric name)" };
            return true;
        }

        if (valueError is { } reason)
        {
            raw = new RawReading(metric, double.NaN, timestamp, unit, null) { Reason = reason, Detail = valueErrorDetail };
            return true;
        }

        if (value is null)
        {
            raw = new RawReading(metric, double.NaN, timestamp, unit, null) { Reason = RejectReason.MissingValue, Detail = "reading has no \"v\" (value)" };
            return true;
        }

        raw = new RawReading(metric, value.Value, timestamp, unit, null);
        return true;
    }

    private void Validate(string device, RawReading raw, long arrivalMs, DecodedMessage message)
    {
        var metric = raw.Metric;
        if (raw.Reason is { } early)
        {
            message.Rejections.Add(new Rejection(early, raw.Detail ?? early.ToCode(), device, metric));
            return;
        }

        if (metric is null || !GridTopic.IsValidSegment(metric, out var metricError) || GridTopic.IsReservedSegment(metric))
        {
            message.Rejections.Add(new Rejection(
                RejectReason.BadMetric,
                metric is null ? "reading has no metric" : $"metric '{Printable(metric)}' is not a valid name (1-64 of A-Z a-z 0-9 _ . -, not 'batch', 'columns', 'status' or 'agent')",
                device,
                null));
            return;
        }

        var timestamp = raw.TimestampMs ?? arrivalMs;
        if (timestamp < _earliestMs)
        {
            var hint = timestamp is > 946_684_800 and < 100_000_000_000 ? "; it looks like Unix seconds: send milliseconds" : "; is the device clock set?";
            message.Rejections.Add(new Rejection(RejectReason.TimestampTooOld, $"timestamp {FormatMs(timestamp)} is before {_options.Earliest:yyyy-MM-dd}{hint}", device, metric));
            return;
        }

        if (timestamp > arrivalMs + (long)_options.MaxFutureSkew.TotalMilliseconds)
        {
            message.Rejections.Add(new Rejection(
                RejectReason.TimestampInFuture,
                $"timestamp {FormatMs(timestamp)} is more than {_options.MaxFutureSkew.TotalMinutes:0.#} min ahead of the hub clock {FormatMs(arrivalMs)}",
                device,
                metric));
            return;
        }

        var unit = raw.Unit is null ? string.Empty : UnitNames.Normalize(raw.Unit);
        if (!UnitNames.IsAcceptable(unit, out var unitError))
        {
            message.Rejections.Add(new Rejection(RejectReason.UnitMismatch, unitError!, device, metric));
            return;
        }

        var value = raw.Value;
        if (MetricCatalog.TryGet(metric, out var definition))
        {
            if (!definition.TryConvert(value, unit, out value))
            {
                message.Rejections.Add(new Rejection(
                    RejectReason.UnitMismatch,
                    $"metric '{metric}' is measured in '{definition.Unit}' (accepted: {string.Join(", ", definition.AcceptedUnits.Select(u => u.Length == 0 ? "none" : u))}), got '{Printable(unit)}'",
                    device,
                    metric));
                return;
            }

            if (value < definition.Min || value > definition.Max)
            {
                message.Rejections.Add(new Rejection(
                    RejectReason.OutOfRange,
                    $"{value.ToString("G6", CultureInfo.InvariantCulture)} {definition.Unit} is outside the plausible range of '{metric}' [{definition.Min.ToString(CultureInfo.InvariantCulture)}, {definition.Max.ToString(CultureInfo.InvariantCulture)}]",
                    device,
                    metric));
                return;
            }

            unit = definition.Unit;
        }

        message.Readings.Add(new Reading(new SeriesKey(device, metric), timestamp, value, unit));
    }

    /// <summary>Invariant-culture decimal or exponent notation; also reports NaN/Infinity spellings as non-finite.</summary>
    private static bool TryParseNumber(ReadOnlySpan<byte> utf8, out double value, out bool finite)
    {
        if (Utf8Parser.TryParse(utf8, out value, out var consumed) && consumed == utf8.Length)
        {
            finite = double.IsFinite(value);
            return true;
        }

        // Utf8Parser does not know NaN/Infinity spellings; double.TryParse does, and we want to name them.
        if (utf8.Length <= 32 && double.TryParse(Encoding.UTF8.GetString(utf8), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            finite = double.IsFinite(value);
            return true;
        }

        finite = false;
        return false;
    }

    /// <summary>RFC 3339: a date, a time and an explicit offset or Z. Local times without an offset are ambiguous.</summary>
    public static bool TryParseRfc3339(string text, out DateTimeOffset instant)
    {
        ArgumentNullException.ThrowIfNull(text);
        instant = default;
        text = text.Trim();
        if (text.Length < 20 || text.Length > 40 || (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
            return false;
        var last = text[^1];
        var hasOffset = last is 'Z' or 'z' || (text.Length >= 25 && text[^6] is '+' or '-' && text[^3] == ':');
        if (!hasOffset)
            return false;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out instant);
    }

    private static byte FirstNonWhitespace(ReadOnlySequence<byte> payload)
    {
        foreach (var segment in payload)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                    return b;
            }
        }

        return 0;
    }

    private static ReadOnlySpan<byte> TrimAscii(ReadOnlySpan<byte> span)
    {
        var start = 0;
        while (start < span.Length && span[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0)
            start++;
        var end = span.Length;
        while (end > start && span[end - 1] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0)
            end--;
        return span[start..end];
    }

    private static string FormatMs(long ms) =>
        ms is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : ms.ToString(CultureInfo.InvariantCulture) + " ms";

    private static string ShortJsonError(JsonException ex)
    {
        var text = ex.Message;
        var cut = text.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
            cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        text = cut > 0 ? text[..cut] : text;
        return text.Length > 160 ? text[..160] : text;
    }

    private static string Preview(ReadOnlySpan<byte> span) =>
        Printable(Encoding.UTF8.GetString(span.Length > 40 ? span[..40] : span)) + (span.Length > 40 ? "..." : string.Empty);

    /// <summary>Device text echoed into errors and logs: bounded, with control characters masked.</summary>
    public static string Printable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bounded = text.Length > 80 ? text[..80] + "..." : text;
        return string.Create(bounded.Length, bounded, static (dest, src) =>
        {
            for (var i = 0; i < src.Length; i++)
                dest[i] = char.IsControl(src[i]) ? '?' : src[i];
        });
    }

    private static string? DeviceOf(string topic)
    {
        var parts = topic.Split('/');
        return parts.Length >= 2 && parts[0] == GridTopic.Root && GridTopic.IsValidSegment(parts[1], out _) ? parts[1] : null;
    }

    private readonly record struct RawReading(string? Metric, double Value, long? TimestampMs, string? Unit, string? Error)
    {
        public RejectReason? Reason { get; init; }

        public string? Detail { get; init; }
    }
}
