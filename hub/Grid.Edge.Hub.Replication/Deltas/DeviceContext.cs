using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>One metric as a device stream's coded bodies last left it: its unit, the decimal scale its values were coded at (-1: raw doubles) and its last value as an integer at that scale.</summary>
internal readonly record struct MetricState(string Unit, int Scale, long Last);

/// <summary>
/// What a coded device body (<c>GDD2</c>) is coded against: every metric the stream's bodies named since its last key
/// body, in ordinal order, each with its <see cref="MetricState"/>. The encoder and the decoder both derive it from the
/// bodies alone (<see cref="After"/>), so an origin and every receiver that applied the same chain hold the same
/// context; it is never sent. A stream restarts from a key body (coded against nothing) at the author's restart and
/// every <see cref="KeyEvery"/> deltas, which bounds what a receiver re-reads to rebuild it.
/// </summary>
internal sealed class DeviceContext
{
    /// <summary>The author writes a key body at least this often, so a receiver rebuilds a context from at most this many deltas.</summary>
    public const int KeyEvery = 256;

    /// <summary>A receiver refuses a coded body this many deltas past the last key body (an origin that never writes one): what it may have to re-read stays bounded.</summary>
    public const int MaxDepth = 2 * KeyEvery;

    private readonly Dictionary<string, int> _index;

    private DeviceContext(string[] metrics, MetricState[] states, int depth)
    {
        Metrics = metrics;
        States = states;
        Depth = depth;
        _index = new Dictionary<string, int>(metrics.Length, StringComparer.Ordinal);
        for (var i = 0; i < metrics.Length; i++)
            _index[metrics[i]] = i;
    }

    /// <summary>Metric names, ascending by ordinal.</summary>
    public IReadOnlyList<string> Metrics { get; }

    public IReadOnlyList<MetricState> States { get; }

    /// <summary>Coded bodies since the last key body (0 right after it).</summary>
    public int Depth { get; }

    public int Count => Metrics.Count;

    public bool TryGet(string metric, out MetricState state)
    {
        if (_index.TryGetValue(metric, out var i))
        {
            state = States[i];
            return true;
        }

        state = default;
        return false;
    }

    /// <summary>
    /// The context after a body: the metrics of <paramref name="previous"/> (when the body was coded against it) with the
    /// body's series added or replaced. More than <see cref="DeviceBody.MaxSeries"/> metrics keep only the body's.
    /// </summary>
    public static DeviceContext After(DeviceContext? previous, IReadOnlyList<(string Metric, MetricState State)> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var merged = new SortedDictionary<string, MetricState>(StringComparer.Ordinal);
        if (previous is not null)
        {
            for (var i = 0; i < previous.Count; i++)
                merged[previous.Metrics[i]] = previous.States[i];
        }

        foreach (var (metric, state) in series)
            merged[metric] = state;
        if (merged.Count > DeviceBody.MaxSeries)
        {
            merged.Clear();
            foreach (var (metric, state) in series)
                merged[metric] = state;
        }

        return new DeviceContext([.. merged.Keys], [.. merged.Values], previous is null ? 0 : previous.Depth + 1);
    }

    /// <summary>
    /// The first 4 bytes of a SHA-256 over depth, metrics and states. A coded body carries its encoder's, so a receiver
    /// whose context differs (a bug, a chain read back wrongly) refuses the body instead of storing wrong values.
    /// </summary>
    public uint Digest => _digest ??= ComputeDigest();

    private uint? _digest;

    private uint ComputeDigest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(number, Depth);
        hash.AppendData(number[..4]);
        for (var i = 0; i < Count; i++)
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{Metrics[i]}\0{States[i].Unit}\0"));
            BinaryPrimitives.WriteInt32LittleEndian(number, States[i].Scale);
            hash.AppendData(number[..4]);
            BinaryPrimitives.WriteInt64LittleEndian(number, States[i].Last);
            hash.AppendData(number);
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(hash.GetHashAndReset());
    }

    /// <summary>Same metrics, states and depth: what an encoder and a decoder must agree on.</summary>
    public bool SameAs(DeviceContext other) =>
        other is not null && Depth == other.Depth && Metrics.SequenceEqual(other.Metrics, StringComparer.Ordinal) && States.SequenceEqual(other.States);
}
