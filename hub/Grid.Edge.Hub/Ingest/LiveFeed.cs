using System.Threading.Channels;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>
/// Fans stored readings out to live listeners (the SSE endpoint). Each listener has a bounded queue: a slow
/// listener loses its oldest readings (counted) and never slows ingest.
/// </summary>
public sealed class LiveFeed
{
    public const int ListenerCapacity = 4096;

    private readonly Lock _gate = new();
    private Listener[] _listeners = [];

    public int ListenerCount => Volatile.Read(ref _listeners).Length;

    public void Publish(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var listeners = Volatile.Read(ref _listeners);
        foreach (var listener in listeners)
        {
            foreach (var reading in readings)
            {
                if (listener.Filter is null || listener.Filter(reading))
                    listener.Write(reading);
            }
        }
    }

    public Listener Subscribe(Func<Reading, bool>? filter = null)
    {
        var listener = new Listener(this, filter);
        lock (_gate)
            _listeners = [.. _listeners, listener];
        return listener;
    }

    private void Remove(Listener listener)
    {
        lock (_gate)
            _listeners = _listeners.Where(l => l != listener).ToArray();
    }

    public sealed class Listener : IDisposable
    {
        private readonly LiveFeed _feed;
        private readonly Channel<Reading> _channel;
        private long _dropped;

        internal Listener(LiveFeed feed, Func<Reading, bool>? filter)
        {
            _feed = feed;
            Filter = filter;
            _channel = Channel.CreateBounded<Reading>(
                new BoundedChannelOptions(ListenerCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                _ => Interlocked.Increment(ref _dropped));
        }

        internal Func<Reading, bool>? Filter { get; }

        public ChannelReader<Reading> Reader => _channel.Reader;

        public long Dropped => Interlocked.Read(ref _dropped);

        internal void Write(Reading reading) => _channel.Writer.TryWrite(reading);

        public void Dispose()
        {
            _feed.Remove(this);
            _channel.Writer.TryComplete();
        }
    }
}
