using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Node;

/// <summary>
/// The digest of <c>GET /api/grid/digest</c>: SHA-256 over, per series in ordinal order, its id and a 0 byte, then per
/// point in time order its time, value bits and winning clock (8 bytes little-endian each) and the winning origin with
/// a 0 byte. Two hubs give the same exactly when they hold the same content, whatever their versions, so this layout
/// never changes. The bytes go through one buffer: a hash call per field costs more than reading the points.
/// </summary>
internal sealed class ContentDigest : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[1 << 16];
    private readonly Dictionary<string, byte[]> _origins = new(StringComparer.Ordinal);
    private int _used;

    public long Points { get; private set; }

    public int SeriesCount { get; private set; }

    public void Series(string id)
    {
        Append(Encoding.UTF8.GetBytes(id + "\0"));
        SeriesCount++;
    }

    public void Point(long timeMs, double value, WriteStamp stamp)
    {
        Span<byte> fields = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(fields, timeMs);
        BinaryPrimitives.WriteInt64LittleEndian(fields[8..], BitConverter.DoubleToInt64Bits(value));
        BinaryPrimitives.WriteInt64LittleEndian(fields[16..], stamp.Hlc);
        Append(fields);
        if (!_origins.TryGetValue(stamp.Origin, out var origin))
            _origins[stamp.Origin] = origin = Encoding.UTF8.GetBytes(stamp.Origin + "\0");
        Append(origin);
        Points++;
    }

    /// <summary>The digest in lowercase hex.</summary>
    public string Finish()
    {
        _hash.AppendData(_buffer, 0, _used);
        _used = 0;
        return Convert.ToHexStringLower(_hash.GetHashAndReset());
    }

    public void Dispose() => _hash.Dispose();

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_used + bytes.Length > _buffer.Length)
        {
            _hash.AppendData(_buffer, 0, _used);
            _used = 0;
        }

        if (bytes.Length > _buffer.Length)
            _hash.AppendData(bytes);
        else
        {
            bytes.CopyTo(_buffer.AsSpan(_used));
            _used += bytes.Length;
        }
    }
}
