using System.Collections.Concurrent;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Hub.Ingest;

/// <summary>A rejection as the API lists it.</summary>
public sealed record RejectionRecord(DateTimeOffset Time, string? Device, string? Metric, string Topic, string Reason, string Detail, int Count, string? ClientId);

/// <summary>
/// Counts rejections per device and reason, keeps the most recent ones, and logs them without letting one broken
/// device flood the log: at most one line per device per interval, with the number of suppressed ones.
/// </summary>
public sealed class RejectionLog
{
    public const int DefaultCapacity = 1000;
    private const string UnknownDevice = "(unknown)";

    private readonly ConcurrentDictionary<(string Device, RejectReason Reason), long> _counts = new();
    private readonly ConcurrentDictionary<string, LogWindow> _logWindows = new(StringComparer.Ordinal);
    private readonly RejectionRecord[] _recent;
    private readonly Lock _recentGate = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _logInterval;
    private int _next;
    private int _size;
    private long _total;

    public RejectionLog(ILogger<RejectionLog> logger, TimeProvider time, int capacity = DefaultCapacity, TimeSpan? logInterval = null)
    {
        _logger = logger;
        _time = time;
        _recent = new RejectionRecord[capacity];
        _logInterval = logInterval ?? TimeSpan.FromSeconds(30);
    }

    public long Total => Interlocked.Read(ref _total);

    public void Record(string topic, Rejection rejection, string? clientId)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var now = _time.GetUtcNow();
        var device = rejection.Device ?? UnknownDevice;
        _counts.AddOrUpdate((device, rejection.Reason), rejection.Count, (_, c) => c + rejection.Count);
        Interlocked.Add(ref _total, rejection.Count);
        var record = new RejectionRecord(now, rejection.Device, rejection.Metric, topic, rejection.Reason.ToCode(), rejection.Detail, rejection.Count, clientId);
        lock (_recentGate)
        {
            _recent[_next] = record;
            _next = (_next + 1) % _recent.Length;
            _size = Math.Min(_size + 1, _recent.Length);
        }

        var window = _logWindows.GetOrAdd(device, _ => new LogWindow());
        var suppressed = window.TryOpen(now, _logInterval);
        if (suppressed >= 0)
        {
            _logger.LogWarning(
                "Rejected from {Device} on {Topic}: {Reason}: {Detail}{Suppressed}",
                device,
                topic,
                record.Reason,
                rejection.Detail,
                suppressed > 0 ? $" ({suppressed} more from this device were not logged in the last {_logInterval.TotalSeconds:0} s)" : string.Empty);
        }
    }

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

    public IReadOnlyList<(string Device, string Reason, long Count)> Counts() =>
        _counts.Select(kv => (kv.Key.Device, kv.Key.Reason.ToCode(), kv.Value))
            .OrderBy(c => c.Device, StringComparer.Ordinal)
            .ThenBy(c => c.Item2, StringComparer.Ordinal)
            .ToList();

    public long CountFor(string device) => _counts.Where(kv => kv.Key.Device == device).Sum(kv => kv.Value);

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
