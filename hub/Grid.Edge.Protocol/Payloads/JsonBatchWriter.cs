using System.Buffers;
using System.Text.Json;

namespace Grid.Edge.Protocol.Payloads;

/// <summary>
/// Writes the JSON batch that <see cref="ReadingDecoder"/> reads: <c>{"readings":[{"m":..,"v":..,"t":..,"unit":..}]}</c>
/// with <c>t</c> in Unix milliseconds and the unit only when given. A maximum size keeps a batch under what the hub
/// takes in one message (it refuses larger ones whole). The firmware has its own allocation-free writer of the same
/// format; a test holds the two to the same decoded readings.
/// </summary>
public sealed class JsonBatchWriter : IDisposable
{
    // Room for one reading beyond its names (a number, a time, keys and punctuation) and for the closing brackets.
    private const int ReadingOverhead = 24 + 20 + 32;
    private const int Closing = 2;

    private readonly ArrayBufferWriter<byte> _buffer;
    private readonly Utf8JsonWriter _json;
    private readonly int _maxBytes;
    private bool _finished;

    public JsonBatchWriter(int maxBytes = int.MaxValue, int expectedReadings = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 64);
        _maxBytes = maxBytes;
        _buffer = new ArrayBufferWriter<byte>((int)Math.Min(maxBytes, Math.Max(256L, expectedReadings * 64L)));
        _json = new Utf8JsonWriter(_buffer);
        _json.WriteStartObject();
        _json.WriteStartArray("readings");
    }

    /// <summary>Readings written so far.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Adds a reading; false (nothing written) when it could take the payload past the maximum size, unless the batch
    /// is empty (a batch holds at least one reading, and the hub says why it refuses one that is too large).
    /// </summary>
    public bool TryAdd(string metric, double value, long timestampMs, string? unit = null)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ObjectDisposedException.ThrowIf(_finished, this);
        var unitLength = unit?.Length ?? 0;
        if (Count > 0 && (long)_buffer.WrittenCount + _json.BytesPending + ReadingOverhead + Closing + (3L * (metric.Length + unitLength)) > _maxBytes)
            return false;
        _json.WriteStartObject();
        _json.WriteString("m", metric);
        _json.WriteNumber("v", value);
        _json.WriteNumber("t", timestampMs);
        if (unitLength > 0)
            _json.WriteString("unit", unit);
        _json.WriteEndObject();
        Count++;
        return true;
    }

    /// <summary>The finished payload; the writer takes nothing more.</summary>
    public byte[] ToArray()
    {
        if (!_finished)
        {
            _json.WriteEndArray();
            _json.WriteEndObject();
            _json.Flush();
            _finished = true;
        }

        return _buffer.WrittenSpan.ToArray();
    }

    public void Dispose() => _json.Dispose();
}
