namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Bounds what clients can make the broker keep: at most <c>maxMessages</c> retained topics and <c>maxBytes</c> per
/// retained payload. Replacing or clearing (empty payload) a retained topic is always allowed; a new topic beyond
/// the count is refused. The hub's own messages (alerts) count but are never refused. Decided where the broker
/// dispatches a message, the one place every retained message (wills included) passes.
/// </summary>
internal sealed class RetainedQuota(int maxMessages, int maxBytes)
{
    private readonly HashSet<string> _topics = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _refused;

    public int MaxMessages => maxMessages;

    public int MaxBytes => maxBytes;

    public int Count
    {
        get
        {
            lock (_gate)
                return _topics.Count;
        }
    }

    /// <summary>Retained messages refused for their size or because the count was reached.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Takes a retained message into account; null when accepted, else why it is refused.</summary>
    public string? TryAccept(string topic, long payloadBytes, bool exempt = false)
    {
        lock (_gate)
        {
            if (payloadBytes == 0)
            {
                _topics.Remove(topic);
                return null;
            }

            if (!exempt && payloadBytes > maxBytes)
            {
                Interlocked.Increment(ref _refused);
                return $"a retained message may hold at most {maxBytes} bytes";
            }

            if (!_topics.Contains(topic) && !exempt && _topics.Count >= maxMessages)
            {
                Interlocked.Increment(ref _refused);
                return $"the broker keeps at most {maxMessages} retained messages";
            }

            _topics.Add(topic);
            return null;
        }
    }

    /// <summary>What <see cref="TryAccept"/> would answer, without taking the message into account.</summary>
    public string? WouldRefuse(string topic, long payloadBytes, bool exempt = false)
    {
        if (exempt || payloadBytes == 0)
            return null;
        if (payloadBytes > maxBytes)
            return $"a retained message may hold at most {maxBytes} bytes";
        lock (_gate)
            return !_topics.Contains(topic) && _topics.Count >= maxMessages ? $"the broker keeps at most {maxMessages} retained messages" : null;
    }

    /// <summary>The retained messages loaded at start.</summary>
    public void Seed(IEnumerable<string> topics)
    {
        lock (_gate)
            _topics.UnionWith(topics);
    }

    public void Clear()
    {
        lock (_gate)
            _topics.Clear();
    }
}
