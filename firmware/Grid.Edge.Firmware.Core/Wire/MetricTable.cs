namespace Grid.Edge.Firmware.Core.Wire;

/// <summary>
/// The metrics a station reports, by index (the ring stores one byte per reading), with their wire names in
/// ASCII and the decimals they are sent with. Built once at start; encoding then allocates nothing.
/// </summary>
public sealed class MetricTable
{
    public const int MaximumMetrics = 32;

    private readonly byte[][] _names = new byte[MaximumMetrics][];
    private readonly int[] _decimals = new int[MaximumMetrics];
    private int _count;

    public int Count => _count;

    /// <summary>Adds a metric and returns its index. Names follow the hub's rule: 1-64 of A-Z a-z 0-9 _ . -</summary>
    public int Add(string name, int decimals)
    {
        if (_count == MaximumMetrics)
            throw new System.InvalidOperationException("a station reports at most 32 metrics");
        if (name == null || name.Length < 1 || name.Length > 64)
            throw new System.ArgumentException("a metric name has 1 to 64 characters");
        if (decimals < 0 || decimals > 6)
            throw new System.ArgumentException("decimals must be 0 to 6");
        var bytes = new byte[name.Length];
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
            if (!ok)
                throw new System.ArgumentException("a metric name may only use A-Z a-z 0-9 _ . -");
            bytes[i] = (byte)c;
        }

        _names[_count] = bytes;
        _decimals[_count] = decimals;
        return _count++;
    }

    public byte[] Name(int index) => _names[index];

    public int Decimals(int index) => _decimals[index];

    public bool Contains(int index) => index >= 0 && index < _count;
}
