namespace Grid.Edge.Protocol.Readings;

/// <summary>Why a reading or a message was not stored. Every rejection carries exactly one.</summary>
public enum RejectReason
{
    /// <summary>The topic under <c>grid/</c> does not have the <c>grid/&lt;device&gt;/&lt;metric&gt;</c> shape.</summary>
    BadTopic,

    /// <summary>The payload is larger than the hub accepts (64 KiB by default).</summary>
    PayloadTooLarge,

    /// <summary>The payload is neither a number nor the JSON the protocol describes.</summary>
    UnparsablePayload,

    /// <summary>The reading has no value.</summary>
    MissingValue,

    /// <summary>The value is NaN, infinite or out of the range of a double.</summary>
    NonFiniteValue,

    /// <summary>The unit cannot be converted to the metric's canonical unit, or differs from the series' unit.</summary>
    UnitMismatch,

    /// <summary>A batch item has no metric name, or an invalid one.</summary>
    BadMetric,

    /// <summary>The timestamp is neither RFC 3339 with an offset nor integer Unix milliseconds.</summary>
    BadTimestamp,

    /// <summary>The timestamp is more than the allowed skew (5 minutes) ahead of the hub's clock.</summary>
    TimestampInFuture,

    /// <summary>The timestamp is before 2000-01-01 (often: Unix seconds sent where milliseconds belong).</summary>
    TimestampTooOld,

    /// <summary>A batch holds more readings than the hub accepts in one message (10,000 by default).</summary>
    BatchTooLarge,

    /// <summary>The value is outside the physically plausible range of a known metric.</summary>
    OutOfRange,

    /// <summary>A status message that is not <c>online</c> or <c>offline</c>.</summary>
    BadStatus,

    /// <summary>The client's credentials do not allow this topic: a device publishes only under its own <c>grid/&lt;device&gt;/</c>.</summary>
    NotAuthorized,

    /// <summary>The reading would start a new series for a device that has as many series as the hub allows one device (2,000 by default).</summary>
    SeriesLimit,

    /// <summary>The sender sent more readings a second than the hub takes from one device (20,000 by default, in bursts of 30 s worth).</summary>
    RateLimited,
}

public static class RejectReasonCodes
{
    /// <summary>The stable, snake_case code used by the API, logs and metrics.</summary>
    public static string ToCode(this RejectReason reason) => reason switch
    {
        RejectReason.BadTopic => "bad_topic",
        RejectReason.PayloadTooLarge => "payload_too_large",
        RejectReason.UnparsablePayload => "unparsable_payload",
        RejectReason.MissingValue => "missing_value",
        RejectReason.NonFiniteValue => "non_finite_value",
        RejectReason.UnitMismatch => "unit_mismatch",
        RejectReason.BadMetric => "bad_metric",
        RejectReason.BadTimestamp => "bad_timestamp",
        RejectReason.TimestampInFuture => "timestamp_in_future",
        RejectReason.TimestampTooOld => "timestamp_too_old",
        RejectReason.BatchTooLarge => "batch_too_large",
        RejectReason.OutOfRange => "out_of_range",
        RejectReason.BadStatus => "bad_status",
        RejectReason.NotAuthorized => "not_authorized",
        RejectReason.SeriesLimit => "series_limit",
        RejectReason.RateLimited => "rate_limited",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}

/// <summary>One rejected reading or message, with a reason a device developer can act on.</summary>
/// <param name="Count">How many readings this rejection stands for (a whole batch counts all of its readings).</param>
public readonly record struct Rejection(RejectReason Reason, string Detail, string? Device, string? Metric, int Count = 1);
