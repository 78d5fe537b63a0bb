using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Units;

namespace Grid.Edge.Protocol.Payloads;

/// <summary>The binary <c>columns</c> payload (layout in <see cref="ColumnBatchWriter"/>).</summary>
public sealed partial class ReadingDecoder
{
    private void DecodeColumns(string device, ReadOnlySpan<byte> payload, long arrivalMs, DecodedMessage message)
    {
        // Structure first, for the whole message: a torn or corrupt payload is refused whole, nothing of it stored.
        var series = new List<(string Metric, string Unit, long[] Times, double[] Values)>();
        var at = 0;
        string? error = null;
        if (!payload.StartsWith(ColumnBatchWriter.Magic))
            error = "a columns payload starts with 'GEC1' (see the README's bulk upload section)";
        else
        {
            at = ColumnBatchWriter.Magic.Length;
            var total = 0L;
            if (!TryReadVarint(payload, ref at, out var count) || count == 0)
                error = "the series count is missing or zero";
            for (var s = 0UL; error is null && s < count; s++)
                error = ReadSeries(payload, ref at, series, ref total);
            if (error is null && at != payload.Length)
                error = $"{payload.Length - at} bytes follow the last series";
            if (error is null && total > _options.MaxBatchReadings)
            {
                message.Rejections.Add(new Rejection(
                    RejectReason.BatchTooLarge,
                    $"batch holds {total} readings; the limit is {_options.MaxBatchReadings}: split it",
                    device,
                    null,
                    (int)Math.Min(total, int.MaxValue)));
                return;
            }
        }

        if (error is not null)
        {
            message.Rejections.Add(new Rejection(
                RejectReason.UnparsablePayload,
                $"columns payload: {error} (at byte {at})",
                device,
                null,
                Math.Max(1, series.Sum(s => s.Times.Length))));
            return;
        }

        foreach (var (metric, unit, times, values) in series)
            ValidateColumns(device, metric, unit, times, values, arrivalMs, message);
    }

    private static string? ReadSeries(ReadOnlySpan<byte> payload, ref int at, List<(string, string, long[], double[])> series, ref long total)
    {
        if (!TryReadString(payload, ref at, out var metric) || !TryReadString(payload, ref at, out var unit))
            return $"series {series.Count + 1}: its metric or unit is cut short or not UTF-8";
        if (!TryReadVarint(payload, ref at, out var count) || count == 0)
            return $"series {series.Count + 1} ('{Printable(metric)}'): the point count is missing or zero";

        // Each point needs at least one byte of time and eight of value: a count beyond that is a lie, refused
        // before anything is allocated for it.
        if (count > (ulong)(payload.Length - at) / 9)
            return $"series {series.Count + 1} ('{Printable(metric)}'): {count} points do not fit in the {payload.Length - at} bytes left";
        total += (long)count;
        var times = new long[count];
        long t = 0, step = 0;
        for (var i = 0; i < times.Length; i++)
        {
            if (!TryReadVarint(payload, ref at, out var zigzag))
                return $"series {series.Count + 1} ('{Printable(metric)}'): time {i + 1} of {count} is cut short";
            if (i == 0)
                t = ColumnBatchWriter.UnZigZag(zigzag);
            else
            {
                step = unchecked(step + ColumnBatchWriter.UnZigZag(zigzag));
                t = unchecked(t + step);
            }

            times[i] = t;
        }

        if (payload.Length - at < times.Length * 8)
            return $"series {series.Count + 1} ('{Printable(metric)}'): {count} values need {times.Length * 8} bytes, {payload.Length - at} are left";
        var values = new double[times.Length];
        for (var i = 0; i < values.Length; i++, at += 8)
            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(payload[at..]);
        series.Add((metric, unit, times, values));
        return null;
    }

    /// <summary>The reading rules of <see cref="Validate"/>, with the metric and unit checked once per series.</summary>
    private void ValidateColumns(string device, string metric, string rawUnit, long[] times, double[] values, long arrivalMs, DecodedMessage message)
    {
        if (!Topics.GridTopic.IsValidSegment(metric, out _) || Topics.GridTopic.IsReservedSegment(metric))
        {
            message.Rejections.Add(new Rejection(
                RejectReason.BadMetric,
                $"metric '{Printable(metric)}' is not a valid name (1-64 of A-Z a-z 0-9 _ . -, not 'batch', 'columns', 'status' or 'agent')",
                device,
                null,
                times.Length));
            return;
        }

        var unit = UnitNames.Normalize(rawUnit);
        if (!UnitNames.IsAcceptable(unit, out var unitError))
        {
            message.Rejections.Add(new Rejection(RejectReason.UnitMismatch, unitError!, device, metric, times.Length));
            return;
        }

        MetricCatalog.TryGet(metric, out var definition);
        if (definition is not null && !definition.TryConvert(0, unit, out _))
        {
            message.Rejections.Add(new Rejection(
                RejectReason.UnitMismatch,
                $"metric '{metric}' is measured in '{definition.Unit}' (accepted: {string.Join(", ", definition.AcceptedUnits.Select(u => u.Length == 0 ? "none" : u))}), got '{Printable(unit)}'",
                device,
                metric,
                times.Length));
            return;
        }

        // Refused points are counted per reason, with the first one as the example.
        var refused = new Dictionary<RejectReason, (string Detail, int Count)>();
        void Refuse(RejectReason reason, string detail) =>
            refused[reason] = refused.TryGetValue(reason, out var seen) ? (seen.Detail, seen.Count + 1) : (detail, 1);

        var latest = arrivalMs + (long)_options.MaxFutureSkew.TotalMilliseconds;
        var kept = 0;
        for (var i = 0; i < times.Length; i++)
        {
            var t = times[i];
            var value = values[i];
            if (t < _earliestMs)
                Refuse(RejectReason.TimestampTooOld, $"timestamp {FormatMs(t)} is before {_options.Earliest:yyyy-MM-dd}; is the device clock set?");
            else if (t > latest)
                Refuse(RejectReason.TimestampInFuture, $"timestamp {FormatMs(t)} is more than {_options.MaxFutureSkew.TotalMinutes:0.#} min ahead of the hub clock {FormatMs(arrivalMs)}");
            else if (!double.IsFinite(value))
                Refuse(RejectReason.NonFiniteValue, $"value {value.ToString(CultureInfo.InvariantCulture)} at {FormatMs(t)} is not finite");
            else if (definition is not null && (!definition.TryConvert(value, unit, out value) || value < definition.Min || value > definition.Max))
                Refuse(RejectReason.OutOfRange, $"{value.ToString("G6", CultureInfo.InvariantCulture)} {definition.Unit} is outside the plausible range of '{metric}' [{definition.Min.ToString(CultureInfo.InvariantCulture)}, {definition.Max.ToString(CultureInfo.InvariantCulture)}]");
            else
            {
                // Kept points move down over refused ones; the columns are this message's own.
                times[kept] = t;
                values[kept++] = value;
                continue;
            }
        }

        foreach (var (reason, (detail, count)) in refused)
            message.Rejections.Add(new Rejection(reason, count > 1 ? $"{detail} (and {count - 1} more like it)" : detail, device, metric, count));
        if (kept == 0)
            return;
        if (kept < times.Length)
        {
            Array.Resize(ref times, kept);
            Array.Resize(ref values, kept);
        }

        message.Columns.Add(new SeriesColumns(new SeriesKey(device, metric), definition?.Unit ?? unit, times, values));
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> payload, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= payload.Length)
                return false;
            var b = payload[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return shift < 63 || b <= 1;
        }

        return false;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool TryReadString(ReadOnlySpan<byte> payload, ref int at, out string text)
    {
        text = string.Empty;
        if (!TryReadVarint(payload, ref at, out var length) || length > 256 || length > (ulong)(payload.Length - at))
            return false;
        try
        {
            text = StrictUtf8.GetString(payload.Slice(at, (int)length));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        at += (int)length;
        return true;
    }
}
