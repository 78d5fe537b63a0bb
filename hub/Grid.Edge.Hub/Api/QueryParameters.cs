using System.Collections.Frozen;
using System.Globalization;
using Grid.Edge.Protocol.Payloads;

namespace Grid.Edge.Hub.Api;

/// <summary>Aggregates a points query can ask for per step.</summary>
internal enum Aggregate
{
    Mean,
    Min,
    Max,
    Sum,
    Count,
}

/// <summary>Parses the time and step parameters of the query API; errors are sentences for the 400 response.</summary>
internal static class QueryParameters
{
    /// <summary>
    /// An instant: Unix milliseconds, RFC 3339 (<c>2026-11-22T10:00:00Z</c>), <c>now</c>, or relative to now
    /// (<c>-6h</c>, <c>now-30m</c>). Instants beyond what the store can hold (about 2,200 years either side of
    /// 1970) are clamped to its bounds, so range arithmetic on them cannot overflow.
    /// </summary>
    public static bool TryParseInstant(string text, long nowMs, out long ms, out string? error)
    {
        var parsed = TryParseUnclamped(text, nowMs, out ms, out error);
        ms = Grid.Edge.Hub.Storage.StoreTime.Clamp(ms);
        return parsed;
    }

    /// <summary>Whole steps of <paramref name="stepMs"/> in [from, to) (saturating: a span that would wrap counts as the most).</summary>
    public static long StepCount(long fromMs, long toMs, long stepMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepMs);
        if (toMs <= fromMs)
            return 0;
        var span = unchecked(toMs - fromMs);
        return span < 0 ? long.MaxValue : span / stepMs;
    }

    private static bool TryParseUnclamped(string text, long nowMs, out long ms, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ms = 0;
        error = null;
        var value = text.Trim();
        if (value.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            ms = nowMs;
            return true;
        }

        var relative = value.StartsWith("now-", StringComparison.OrdinalIgnoreCase) ? value[4..] : value.StartsWith('-') ? value[1..] : null;
        if (relative is not null)
        {
            if (TryParseDuration(relative, out var back, out _))
            {
                ms = nowMs >= 0 || back <= nowMs - long.MinValue ? nowMs - back : long.MinValue; // saturating
                return true;
            }

            error = $"'{text}' is not a relative time like -6h or now-30m";
            return false;
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ms))
            return true;
        if (ReadingDecoder.TryParseRfc3339(value, out var instant))
        {
            ms = instant.ToUnixTimeMilliseconds();
            return true;
        }

        error = $"'{text}' is not a time: use Unix milliseconds, RFC 3339 (2026-11-22T10:00:00Z), now, or -6h";
        return false;
    }

    /// <summary>A duration: integer milliseconds or a number with unit ms, s, m, h, d, w (<c>1m</c>, <c>15s</c>).</summary>
    public static bool TryParseDuration(string text, out long ms, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        ms = 0;
        var value = text.Trim();
        var unitStart = value.Length;
        while (unitStart > 0 && char.IsAsciiLetter(value[unitStart - 1]))
            unitStart--;
        var number = value[..unitStart];
        var unit = value[unitStart..].ToLowerInvariant();
        long scale = unit switch
        {
            "" or "ms" => 1,
            "s" => 1000,
            "m" or "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => 0,
        };
        if (scale == 0 || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0 || count > long.MaxValue / scale)
        {
            error = $"'{text}' is not a duration: use e.g. 500ms, 10s, 1m, 1h, 1d or integer milliseconds";
            return false;
        }

        ms = count * scale;
        error = null;
        return true;
    }

    private static readonly FrozenDictionary<string, Aggregate> AggregateNames = new Dictionary<string, Aggregate>(StringComparer.OrdinalIgnoreCase)
    {
        ["mean"] = Aggregate.Mean,
        ["avg"] = Aggregate.Mean,
        ["min"] = Aggregate.Min,
        ["max"] = Aggregate.Max,
        ["sum"] = Aggregate.Sum,
        ["count"] = Aggregate.Count,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    public static bool TryParseAggregate(string text, out Aggregate aggregate, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = AggregateNames.TryGetValue(text.Trim(), out aggregate) ? null : $"'{text}' is not an aggregate: use mean, min, max, sum or count";
        return error is null;
    }
}
