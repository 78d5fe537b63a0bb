namespace Grid.Edge.Hub.Storage.Compression;

/// <summary>One rollup bucket: count, sum, min, max, first and last of the points in it.</summary>
public readonly record struct RollupEntry(long Start, long Count, double Sum, double Min, double Max, double First, double Last);

/// <summary>
/// The 1-minute rollups of one chunk bucket packed together: six columns, each compressed with the chunk codec
/// (one row per minute would cost more than the raw points of a slow series).
/// </summary>
internal static class RollupCodec
{
    public static byte[] Encode(IReadOnlyList<RollupEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var times = entries.Select(e => e.Start).ToArray();
        var columns = new[]
        {
            entries.Select(e => (double)e.Count).ToArray(),
            entries.Select(e => e.Sum).ToArray(),
            entries.Select(e => e.Min).ToArray(),
            entries.Select(e => e.Max).ToArray(),
            entries.Select(e => e.First).ToArray(),
            entries.Select(e => e.Last).ToArray(),
        };
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer);
        foreach (var column in columns)
        {
            var encoded = ChunkCodec.Encode(times, column);
            writer.Write7BitEncodedInt(encoded.Length);
            writer.Write(encoded);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    public static RollupEntry[] Decode(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var reader = new BinaryReader(new MemoryStream(data));
        var columns = new double[6][];
        long[] times = [];
        try
        {
            for (var c = 0; c < 6; c++)
            {
                var length = reader.Read7BitEncodedInt();
                if (length < 0 || length > data.Length)
                    throw new InvalidDataException("bad rollup column length");
                (times, columns[c]) = ChunkCodec.Decode(reader.ReadBytes(length));
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("rollup row ends early", ex);
        }

        var entries = new RollupEntry[times.Length];
        for (var i = 0; i < times.Length; i++)
        {
            if (columns.Any(c => c.Length != times.Length))
                throw new InvalidDataException("rollup columns differ in length");
            entries[i] = new RollupEntry(times[i], (long)columns[0][i], columns[1][i], columns[2][i], columns[3][i], columns[4][i], columns[5][i]);
        }

        return entries;
    }
}
