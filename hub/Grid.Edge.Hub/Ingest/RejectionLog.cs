using System.Collections.Concurrent;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Ingest;

/// <summary>A rejection as the API lists it.</summary>
internal sealed record RejectionRecord(DateTimeOffset Time, string? Device, string? Metric, string Topic, string Reason, string Detail, int Count, string? ClientId)
{
    /// <summary>The authenticated MQTT user that sent it (none for anonymous clients).</summary>
    public string? User { get; init; }
}

/// <summary>
/// Counts rejections per sender and reason, keeps the most recent ones, and logs them without letting one broken
/// device flood the log: at most one line per sender per interval, with the number of suppressed ones. A sender is
/// the authenticated MQTT user, or for anonymous clients the device the topic names. Nothing here grows with what a
/// device makes up: senders that are not users are followed up to a cap (beyond it they are counted together as
/// <see cref="OtherSenders"/>), users are as many as the users file holds, and the kept rejections are a fixed
/// number with their texts clipped.
/// </summary>
internal sealed class RejectionLog
{
    public const int DefaultCapacity = 1000;
    public const int DefaultMaxSenders = 1000;
    public const string OtherSenders = "(other senders)";
    private const string UnknownDevice = "(unknown)";
    private const int MaxTextLength = 300;

    private readonly ConcurrentDictionary<string, Sender> _senders = new(StringComparer.Ordinal);
    private readonly RejectionRecord[] _recent;
    private readonly Lock _recentGate = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _logInterval;
    private readonly int _maxSenders;
    private int _anonymousSenders;
    private int _next;
    private int _size;
    private long _total;

    public RejectionLog(ILogger<RejectionLog> logger, TimeProvider time, int capacity = DefaultCapacity, TimeSpan? logInterval = null, int maxSenders = DefaultMaxSenders)
    {
        _logger = logger;
        _time = time;
        _recent = new RejectionRecord[capacity];
        _logInterval = logInterval ?? TimeSpan.FromSeconds(30);
        _maxSenders = maxSenders;
    }

    public long Total => Interlocked.Read(ref _total);

    /// <summary>Senders counted one by one now.</summary>
    public int SenderCount => _senders.Count;

    /// <summary>Records a rejection of what <paramref name="user"/> (null: an anonymous client) sent on <paramref name="topic"/>.</summary>
    public void Record(string topic, Rejection rejection, string? clientId, string? user = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var now = _time.GetUtcNow();
        var sender = SenderFor(user ?? Clip(rejection.Device) ?? UnknownDevice, authenticated: user is not null);
        sender.Add(rejection.Reason, rejection.Count);
        Interlocked.Add(ref _total, rejection.Count);
        var record = new RejectionRecord(now, Clip(rejection.Device), Clip(rejection.Metric), Clip(topic)!, rejection.Reason.ToCode(), Clip(rejection.Detail)!, rejection.Count, Clip(clientId)) { User = user };
        lock (_recentGate)
        {
            _recent[_next] = record;
            _next = (_next + 1) % _recent.Length;
            _size = Math.Min(_size + 1, _recent.Length);
        }

        var suppressed = sender.Window.TryOpen(now, _logInterval);
        if (suppressed >= 0)
        {
            _logger.LogWarning(
                "Rejected from {Device} on {Topic}: {Reason}: {Detail}{Suppressed}",
                sender.Name,
                record.Topic,
                record.Reason,
                record.Detail,
                suppressed > 0 ? $" ({suppressed} more from this device were not logged in the last {_logInterval.TotalSeconds:0} s)" : string.Empty);
        }
    }

    private Sender SenderFor(string name, bool authenticated)
    {
        if (_senders.TryGetValue(name, out var sender))
            return sender;

        // Users are as many as the users file holds; names anonymous clients make up are followed up to the cap.
        if (!authenticated && Interlocked.Increment(ref _anonymousSenders) > _maxSenders)
        {
            Interlocked.Decrement(ref _anonymousSenders);
            name = OtherSenders;
        }

        var added = new Sender(name);
        sender = _senders.GetOrAdd(name, added);
        if (sender != added && !authenticated && name != OtherSenders)
            Interlocked.Decrement(ref _anonymousSenders); // another thread added it first
        return sender;
    }

    private static string? Clip(string? text) =>
        text is null || text.Length <= MaxTextLength ? text : string.Concat(text.AsSpan(0, MaxTextLength), "...");

    /// <summary>Newest first, optionally only one device's.</summary>
    public IReadOnlyList<RejectionRecord> Recent(string? device = null, int limit = DefaultCapacity)
    {
        var list = new List<RejectionRecord>(Math.Min(limit, _recent.Length));
        lock (_recentGate)
        {
            for (var i = 1; i <= _size && list.Count < limit; i++)
            {
                var record = _recent[(_next - i + _recent.Length) % _recent.Length];
                if (device is null || string.Equals(record.Device, device, StringComparison.Ordinal))
                    list.Add(record);
            }
        }

        return list;
    }

    /// <summary>Counts per sender (the user, or the device of an anonymous client) and reason.</summary>
    public IReadOnlyList<(string Device, string Reason, long Count)> Counts() =>
        _senders.Values.SelectMany(s => s.Counts().Select(c => (s.Name, c.Reason.ToCode(), c.Count)))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ThenBy(c => c.Item2, StringComparer.Ordinal)
            .ToList();

    public long CountFor(string device) => _senders.TryGetValue(device, out var sender) ? sender.Counts().Sum(c => c.Count) : 0;

    private sealed class Sender(string name)
    {
        private readonly long[] _counts = new long[Enum.GetValues<RejectReason>().Length];

        public string Name { get; } = name;

        public LogWindow Window { get; } = new();

        public void Add(RejectReason reason, int count) => Interlocked.Add(ref _counts[(int)reason], count);

        public IEnumerable<(RejectReason Reason, long Count)> Counts()
        {
            for (var i = 0; i < _counts.Length; i++)
            {
                var count = Interlocked.Read(ref _counts[i]);
                if (count > 0)
                    yield return ((RejectReason)i, count);
            }
        }
    }

    private sealed class LogWindow
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _opened = DateTimeOffset.MinValue;
        private long _suppressed;

        /// <summary>-1 when this line must be suppressed, else how many were suppressed since the last line.</summary>
        public long TryOpen(DateTimeOffset now, TimeSpan interval)
        {
            lock (_gate)
            {
                if (now - _opened < interval)
                {
                    _suppressed++;
                    return -1;
                }

                _opened = now;
                var suppressed = _suppressed;
                _suppressed = 0;
                return suppressed;
            }
        }
    }
}
