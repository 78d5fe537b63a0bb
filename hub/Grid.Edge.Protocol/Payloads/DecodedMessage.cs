using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Payloads;

/// <summary>What one MQTT message under <c>grid/</c> held: readings to store, rejections to count, or a status.</summary>
public sealed class DecodedMessage
{
    public GridTopicKind? Kind { get; internal set; }

    /// <summary>The device named by the topic; null only when the topic itself is bad.</summary>
    public string? Device { get; internal set; }

    public DeviceStatus? Status { get; internal set; }

    /// <summary>An agent's report about itself, from <c>grid/&lt;device&gt;/agent</c>.</summary>
    public AgentReport? Agent { get; internal set; }

    public List<Reading> Readings { get; } = [];

    /// <summary>Accepted points of a <c>columns</c> message, per series.</summary>
    public List<SeriesColumns> Columns { get; } = [];

    public List<Rejection> Rejections { get; } = [];

    /// <summary>Readings the message carried (accepted or not).</summary>
    public int ReadingCount => Readings.Count + Columns.Sum(c => c.Count) + Rejections.Sum(r => r.Count);
}
