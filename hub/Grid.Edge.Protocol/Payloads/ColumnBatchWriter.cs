using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Payloads;

/// <summary>
/// Builds a <c>grid/&lt;device&gt;/columns</c> payload: many points of several metrics of one device in a compact
/// binary form, for backfills and bulk uploads where a JSON object per reading costs more than the reading.
/// </summary>
/// <remarks>
/// Layout (little-endian; varint = LEB128, zigzag for signed): the magic <c>GEC1</c>, a varint series count, then
/// per series: metric and unit (varint byte length + UTF-8), a varint point count n, the first time (zigzag varint,
/// Unix ms), n-1 changes of the step between points (zigzag varints of delta-of-delta, so any order is allowed), and
/// n float64 values. A regular series costs one byte of time and eight of value per point.
/// </remarks>
public sealed class ColumnBatchWriter
{
    internal static ReadOnlySpan<byte> Magic => "GEC1"u8;

    private readonly ArrayBufferWriter<byte> _buffer = new();
    private int _series;

    public int SeriesCount => _series;

    /// <summary>Bytes the payload will have (while points are being added).</summary>
    public long Length => Magic.Length + 5 + _buffer.WrittenCount;

    /// <summary>Adds the points of one metric; <paramref name="unit"/> may be empty for the metric's own unit.</summary>
    public ColumnBatchWriter Add(string metric, string unit, ReadOnlySpan<long> times, ReadOnlySpan<double> values)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(unit);
        if (!GridTopic.IsValidSegment(metric, out var error))
            throw new ArgumentException("metric " + error, nameof(metric));
        if (times.Length != values.Length || times.IsEmpty)
            throw new ArgumentException("times and values need the same, non-zero length", nameof(values));
        WriteString(metric);
        WriteString(unit);
        WriteVarint((ulong)times.Length);
        WriteVarint(ZigZag(times[0]));
        long step = 0;
        for (var i = 1; i < times.Length; i++)
        {
            var next = unchecked(times[i] - times[i - 1]);
            WriteVarint(ZigZag(unchecked(next - step)));
            step = next;
        }
        var span = _buffer.GetSpan(values.Length * 8);
        for (var i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], values[i]);
        _buffer.Advance(values.Length * 8);

        _series++;
        return this;
    }

    public byte[] ToArray()
    {
        var head = new ArrayBufferWriter<byte>(Magic.Length + 10);
        head.Write(Magic);
        WriteVarint(head, (ulong)_series);
        return [.. head.WrittenSpan, .. _buffer.WrittenSpan];
    }

    internal static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    internal static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    private void WriteString(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        WriteVarint((ulong)bytes.Length);
        _buffer.Write<byte>(bytes);
    }

    private void WriteVarint(ulong value) => WriteVarint(_buffer, value);

    private static void WriteVarint(ArrayBufferWriter<byte> buffer, ulong value)
    {
        var span = buffer.GetSpan(10);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        buffer.Advance(n);
    }
}
