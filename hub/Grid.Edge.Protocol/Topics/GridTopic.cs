namespace Grid.Edge.Protocol.Topics;

/// <summary>What a topic under <c>grid/</c> carries.</summary>
public enum GridTopicKind
{
    /// <summary><c>grid/&lt;device&gt;/&lt;metric&gt;</c>: one reading.</summary>
    Reading,

    /// <summary><c>grid/&lt;device&gt;/batch</c>: many readings of one device.</summary>
    Batch,

    /// <summary><c>grid/&lt;device&gt;/columns</c>: many points of several metrics of one device, binary (see ColumnBatchWriter).</summary>
    Columns,

    /// <summary><c>grid/&lt;device&gt;/status</c>: retained <c>online</c>/<c>offline</c>.</summary>
    Status,

    /// <summary><c>grid/&lt;device&gt;/agent</c>: retained JSON report of an agent about itself (outbox, link, errors).</summary>
    Agent,
}

/// <summary>A parsed <c>grid/...</c> topic.</summary>
public readonly record struct GridTopic(GridTopicKind Kind, string Device, string? Metric)
{
    public const string Root = "grid";
    public const string BatchSegment = "batch";
    public const string ColumnsSegment = "columns";
    public const string StatusSegment = "status";
    public const string AgentSegment = "agent";

    /// <summary>The hub's own alert messages: <c>grid/alerts/&lt;rule&gt;/&lt;subject&gt;</c> (four segments, never a device's topic).</summary>
    public const string AlertsSegment = "alerts";
    public const int MaxSegmentLength = 64;

    /// <summary>True when the topic belongs to the Grid.Edge namespace (and so must be well formed).</summary>
    public static bool IsGridTopic(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return topic.Length >= Root.Length
            && topic.StartsWith(Root, StringComparison.Ordinal)
            && (topic.Length == Root.Length || topic[Root.Length] == '/');
    }

    /// <summary>
    /// Parses <c>grid/&lt;device&gt;/&lt;metric|batch|status&gt;</c>. On failure <paramref name="error"/> says why,
    /// in words a device developer can act on.
    /// </summary>
    public static bool TryParse(string topic, out GridTopic parsed, out string? error)
    {
        ArgumentNullException.ThrowIfNull(topic);
        parsed = default;
        if (!IsGridTopic(topic))
        {
            error = "topic must start with 'grid/'";
            return false;
        }

        var rest = topic.AsSpan(Root.Length);
        if (rest.Length == 0 || rest[0] != '/')
        {
            error = "expected grid/<device>/<metric>";
            return false;
        }

        rest = rest[1..];
        var slash = rest.IndexOf('/');
        if (slash < 0)
        {
            error = "expected grid/<device>/<metric>";
            return false;
        }

        var device = rest[..slash];
        var last = rest[(slash + 1)..];
        if (last.Contains('/'))
        {
            error = "too many topic levels; expected grid/<device>/<metric>";
            return false;
        }

        if (!IsValidSegment(device, out error))
        {
            error = "device " + error;
            return false;
        }

        if (!IsValidSegment(last, out error))
        {
            error = "metric " + error;
            return false;
        }

        var deviceId = device.ToString();
        if (last.SequenceEqual(BatchSegment))
            parsed = new GridTopic(GridTopicKind.Batch, deviceId, null);
        else if (last.SequenceEqual(ColumnsSegment))
            parsed = new GridTopic(GridTopicKind.Columns, deviceId, null);
        else if (last.SequenceEqual(StatusSegment))
            parsed = new GridTopic(GridTopicKind.Status, deviceId, null);
        else if (last.SequenceEqual(AgentSegment))
            parsed = new GridTopic(GridTopicKind.Agent, deviceId, null);
        else
            parsed = new GridTopic(GridTopicKind.Reading, deviceId, last.ToString());
        error = null;
        return true;
    }

    /// <summary>Last segments that name a kind of message, so never a metric.</summary>
    public static bool IsReservedSegment(string segment) =>
        segment is BatchSegment or ColumnsSegment or StatusSegment or AgentSegment;

    /// <summary>Segments are 1-64 characters of <c>[A-Za-z0-9_.-]</c>.</summary>
    public static bool IsValidSegment(ReadOnlySpan<char> segment, out string? error)
    {
        if (segment.IsEmpty)
        {
            error = "is empty";
            return false;
        }

        if (segment.Length > MaxSegmentLength)
        {
            error = $"is longer than {MaxSegmentLength} characters";
            return false;
        }

        foreach (var c in segment)
        {
            if (!IsSegmentChar(c))
            {
                error = $"contains '{(char.IsControl(c) ? '?' : c)}'; allowed are A-Z a-z 0-9 _ . -";
                return false;
            }
        }

        error = null;
        return true;
    }

    public static bool IsSegmentChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '.' or '-';

    public static string ReadingTopic(string device, string metric) => $"{Root}/{device}/{metric}";

    public static string BatchTopic(string device) => $"{Root}/{device}/{BatchSegment}";

    public static string ColumnsTopic(string device) => $"{Root}/{device}/{ColumnsSegment}";

    public static string StatusTopic(string device) => $"{Root}/{device}/{StatusSegment}";

    public static string AgentTopic(string device) => $"{Root}/{device}/{AgentSegment}";

    public static string AlertTopic(string ruleId, string subject) => $"{Root}/{AlertsSegment}/{ruleId}/{subject}";

    /// <summary>Everything under one device: <c>grid/&lt;device&gt;/</c>.</summary>
    public static string DevicePrefix(string device) => $"{Root}/{device}/";
}
