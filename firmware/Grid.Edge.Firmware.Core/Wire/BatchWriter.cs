using System;

namespace Grid.Edge.Firmware.Core.Wire;

/// <summary>
/// Writes the hub's batch payload, <c>{"readings":[{"m":"temperature","v":21.53,"t":1763800000000},...]}</c>,
/// into a preallocated buffer. Values are written as fixed decimals (per metric) from a scaled integer, so the
/// text is short, exact and independent of the runtime's double formatting; nothing is allocated.
/// </summary>
internal sealed class BatchWriter
{
    private static readonly byte[] Opening = Ascii("{\"readings\":[");
    private static readonly byte[] Closing = Ascii("]}");
    private static readonly byte[] MetricKey = Ascii("{\"m\":\"");
    private static readonly byte[] ValueKey = Ascii("\",\"v\":");
    private static readonly byte[] TimeKey = Ascii(",\"t\":");
    private static readonly long[] Powers = { 1, 10, 100, 1000, 10000, 100000, 1000000 };

    // Longest reading: 64-char name, 20-digit value with sign and point, 20-digit time, keys and punctuation.
    private const int LongestReading = 64 + 22 + 20 + 32;

    private readonly byte[] _buffer;
    private readonly MetricTable _metrics;
    private readonly byte[] _digits = new byte[20];
    private int _length;
    private int _readings;

    public BatchWriter(int capacityBytes, MetricTable metrics)
    {
        _buffer = new byte[capacityBytes];
        _metrics = metrics;
        Reset();
    }

    public byte[] Buffer => _buffer;

    /// <summary>Bytes of the payload after <see cref="Finish"/>.</summary>
    public int Length => _length;

    public int Readings => _readings;

    public void Reset()
    {
        _length = 0;
        _readings = 0;
        Append(Opening);
    }

    /// <summary>True when one more reading is certain to fit (with the closing bytes).</summary>
    public bool HasRoom => _length + LongestReading + Closing.Length <= _buffer.Length;

    /// <summary>Adds a reading; false (and nothing written) when the value is not finite or does not fit.</summary>
    public bool Add(int metric, double value, long unixMilliseconds)
    {
        if (!HasRoom || !_metrics.Contains(metric) || double.IsNaN(value) || double.IsInfinity(value))
            return false;
        var decimals = _metrics.Decimals(metric);
        var scaledDouble = value * Powers[decimals];
        if (scaledDouble > 9.0e17 || scaledDouble < -9.0e17)
            return false;
        var scaled = RoundHalfToEven(scaledDouble);

        if (_readings > 0)
            _buffer[_length++] = (byte)',';
        Append(MetricKey);
        Append(_metrics.Name(metric));
        Append(ValueKey);
        WriteFixed(scaled, decimals);
        Append(TimeKey);
        WriteInteger(unixMilliseconds);
        _buffer[_length++] = (byte)'}';
        _readings++;
        return true;
    }

    public void Finish() => Append(Closing);

    /// <summary>
    /// What <c>Math.Round</c> gives (halves to the even neighbour) for |x| up to 9e17, without <c>System.Math</c>:
    /// on nanoFramework that is an assembly of its own, which a station should not carry for one call.
    /// </summary>
    internal static long RoundHalfToEven(double x)
    {
        var whole = (long)x; // toward zero

        // Exact: below 2^53 the whole part is a double too and the difference has no rounding error; above it,
        // every double is whole and the rest is 0.
        var rest = x - whole;
        if (rest > 0.5 || (rest == 0.5 && (whole & 1) != 0))
            return whole + 1;
        if (rest < -0.5 || (rest == -0.5 && (whole & 1) != 0))
            return whole - 1;
        return whole;
    }

    private void WriteFixed(long scaled, int decimals)
    {
        if (scaled < 0)
        {
            _buffer[_length++] = (byte)'-';
            scaled = -scaled;
        }

        var power = Powers[decimals];
        var whole = scaled / power;
        var fraction = scaled % power;
        WriteInteger(whole);
        if (fraction == 0)
            return;

        // Fraction with leading zeros kept and trailing zeros dropped: 21.50 -> "21.5", 0.05 -> "0.05".
        var width = decimals;
        while (fraction % 10 == 0)
        {
            fraction /= 10;
            width--;
        }

        _buffer[_length++] = (byte)'.';
        for (var i = width - 1; i >= 0; i--)
        {
            _buffer[_length + i] = (byte)('0' + (fraction % 10));
            fraction /= 10;
        }

        _length += width;
    }

    private void WriteInteger(long value)
    {
        if (value < 0)
        {
            _buffer[_length++] = (byte)'-';
            // Negating long.MinValue overflows; timestamps and scaled values never get near it.
            value = -value;
        }

        var count = 0;
        do
        {
            _digits[count++] = (byte)('0' + (value % 10));
            value /= 10;
        }
        while (value > 0);
        while (count > 0)
            _buffer[_length++] = _digits[--count];
    }

    private void Append(byte[] bytes)
    {
        Array.Copy(bytes, 0, _buffer, _length, bytes.Length);
        _length += bytes.Length;
    }

    private static byte[] Ascii(string text)
    {
        var bytes = new byte[text.Length];
        for (var i = 0; i < text.Length; i++)
            bytes[i] = (byte)text[i];
        return bytes;
    }
}
