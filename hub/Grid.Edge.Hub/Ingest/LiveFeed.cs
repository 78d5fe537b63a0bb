using System.Threading.Channels;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>How many live listeners the hub serves, and how far one may fall behind.</summary>
public sealed record LiveFeedOptions
{
    public int MaxListeners { get; init; } = 64;

    public int MaxListenersPerAddress { get; init; } = 8;

    /// <summary>Readings waiting for one listener; a listener with this many waiting is too slow and is dropped.</summary>
    public int ListenerQueue { get; init; } = 4096;
}

/// <summary>Why a listener was not taken.</summary>
public enum LiveRefusal
{
    None,

    /// <summary>The hub serves as many listeners as it allows.</summary>
    TooManyListeners,

    /// <summary>This address has as many listeners as one address may have.</summary>
    TooManyFromAddress,
}

/// <summary>
/// Fans stored readings out to live listeners (the SSE endpoint), at most so many at once and from one address.
/// Each listener has a bounded queue: one that lets it fill up (a client that stopped reading) is dropped and
/// counted, so it never holds memory or slows ingest, and a fast listener next to it misses nothing.
/// </summary>
public sealed class LiveFeed(LiveFeedOptions options)
{
    private readonly Lock _gate = new();
    private Listener[] _listeners = [];
    private long _dropped;
    private long _refused;

    public LiveFeed()
        : this(new LiveFeedOptions())
    {
    }

    public LiveFeedOptions Options => options;

    public int ListenerCount => Volatile.Read(ref _listeners).Length;

    /// <summary>Listeners dropped since start because they fell behind.</summary>
    public long ListenersDropped => Interlocked.Read(ref _dropped);

    /// <summary>Listeners refused since start because of the caps.</summary>
    public long ListenersRefused => Interlocked.Read(ref _refused);

    public void Publish(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var listeners = Volatile.Read(ref _listeners);
        foreach (var listener in listeners)
        {
            foreach (var reading in readings)
            {
                if ((listener.Filter is null || listener.Filter(reading)) && !listener.Write(reading))
                {
                    listener.Drop();
                    break;
                }
            }
        }
    }

    /// <summary>
    /// A new listener for <paramref name="address"/>, or null (and why) when the caps are reached.
    /// <paramref name="dropped"/> runs (on the thread pool) if the listener falls behind: it ends the stream.
    /// </summary>
    public Listener? TrySubscribe(string address, Func<Reading, bool>? filter, Action? dropped, out LiveRefusal refusal)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            refusal = _listeners.Length >= options.MaxListeners ? LiveRefusal.TooManyListeners
                : _listeners.Count(l => l.Address == address) >= options.MaxListenersPerAddress ? LiveRefusal.TooManyFromAddress
                : LiveRefusal.None;
            if (refusal != LiveRefusal.None)
            {
                _refused++;
                return null;
            }

            var listener = new Listener(this, address, filter, dropped, options.ListenerQueue);
            _listeners = [.. _listeners, listener];
            return listener;
        }
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
        private readonly Action? _dropped;
        private int _ended;

        internal Listener(LiveFeed feed, string address, Func<Reading, bool>? filter, Action? dropped, int queue)
        {
            _feed = feed;
            _dropped = dropped;
            Address = address;
            Filter = filter;
            _channel = Channel.CreateBounded<Reading>(new BoundedChannelOptions(queue) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        }

        public string Address { get; }

        internal Func<Reading, bool>? Filter { get; }

        public ChannelReader<Reading> Reader => _channel.Reader;

        /// <summary>False when the queue is full: the listener is not keeping up.</summary>
        internal bool Write(Reading reading) => _channel.Writer.TryWrite(reading);

        internal void Drop()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
                return;
            Interlocked.Increment(ref _feed._dropped);
            _feed.Remove(this);
            _channel.Writer.TryComplete();

            // The stream is ended on a thread of its own, not on the ingest path that found it behind.
            if (_dropped is not null)
                ThreadPool.UnsafeQueueUserWorkItem(static dropped => dropped(), _dropped, preferLocal: false);
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                _feed.Remove(this);
                _channel.Writer.TryComplete();
            }
        }
    }
}
