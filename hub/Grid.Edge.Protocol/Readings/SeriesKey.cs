using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Readings;

/// <summary>A series is one metric of one device; its id is <c>&lt;device&gt;/&lt;metric&gt;</c>.</summary>
public readonly record struct SeriesKey(string Device, string Metric)
{
    public string Id => Device + "/" + Metric;

    public override string ToString() => Id;

    /// <summary>Parses <c>&lt;device&gt;/&lt;metric&gt;</c> with the topic segment rules.</summary>
    public static bool TryParse(string id, out SeriesKey key)
    {
        ArgumentNullException.ThrowIfNull(id);
        key = default;
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
            return false;
        var device = id.AsSpan(0, slash);
        var metric = id.AsSpan(slash + 1);
        if (!GridTopic.IsValidSegment(device, out _) || !GridTopic.IsValidSegment(metric, out _))
            return false;
        key = new SeriesKey(device.ToString(), metric.ToString());
        return true;
    }
}
