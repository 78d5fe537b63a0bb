using System.Globalization;
using System.Text;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Exports;

/// <summary>
/// InfluxDB line protocol for readings: measurement = the metric, tags <c>device</c> and <c>unit</c> (none for a
/// unitless series), field <c>value</c> (a float), the reading's own time in milliseconds
/// (<c>precision=ms</c>). Spaces, commas and equals signs are escaped where the protocol says; a line break or a
/// backslash, which no line can carry unambiguously, becomes <c>_</c> (device and metric ids never hold them).
/// </summary>
internal static class LineProtocol
{
    /// <summary>Appends one line, newline included.</summary>
    public static void Append(StringBuilder lines, in Reading reading)
    {
        ArgumentNullException.ThrowIfNull(lines);
        Escape(lines, reading.Series.Metric, isMeasurement: true);
        lines.Append(",device=");
        Escape(lines, reading.Series.Device, isMeasurement: false);
        if (!string.IsNullOrEmpty(reading.Unit))
        {
            lines.Append(",unit=");
            Escape(lines, reading.Unit, isMeasurement: false);
        }

        lines.Append(" value=");
        lines.Append(reading.Value.ToString("R", CultureInfo.InvariantCulture));
        lines.Append(' ');
        lines.Append(reading.TimestampMs.ToString(CultureInfo.InvariantCulture));
        lines.Append('\n');
    }

    /// <summary>The lines of <paramref name="readings"/>, one each.</summary>
    public static string Format(IEnumerable<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var lines = new StringBuilder();
        foreach (var reading in readings)
            Append(lines, reading);
        return lines.ToString();
    }

    // Measurements escape commas and spaces; tag keys and values also equals signs.
    private static void Escape(StringBuilder lines, string text, bool isMeasurement)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case ',' or ' ':
                    lines.Append('\\').Append(c);
                    break;
                case '=' when !isMeasurement:
                    lines.Append("\\=");
                    break;
                case '\n' or '\r' or '\\':
                    lines.Append('_');
                    break;
                default:
                    lines.Append(c);
                    break;
            }
        }
    }
}
