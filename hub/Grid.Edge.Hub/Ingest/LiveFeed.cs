using System.Threading.Channels;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>How many live listeners the hub serves, and how far one may fall behind.</summary>
internal sealed record LiveFeedOptions
{
    public int MaxListeners { get; init; } = 64;

    public int MaxListenersPerAddress { get; init; } = 8;

    /// <summary>
    /// Readings that may wait for one listener (ten full batches: a backfill arrives in big messages); a listener
    /// with more waiting is too slow and is dropped. A batch that goes to every listener is held once, not copied.
    /// </summary>
    public int ListenerQueue { get; init; } = 100_000;
}

/// <summary>Why a listener was not taken.</summary>
internal enum LiveRefusal
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
internal sealed class LiveFeed(LiveFeedOptions options)
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

    /// <summary>Streams stored readings of every origin to the listeners; nothing is walked while there are none.</summary>
    public void OnStored(Readings.ReadingsStored stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (ListenerCount > 0)
            Publish(stored.Readings);
    }

    private void Publish(IReadOnlyList<Reading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var listeners = Volatile.Read(ref _listeners);
        if (readings.Count == 0)
            return;
        foreach (var listener in listeners)
        {
            var wanted = listener.Filter is null ? readings : readings.Where(listener.Filter).ToList();
            if (wanted.Count > 0 && !listener.Write(wanted))
                listener.Drop();
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
                Interlocked.Increment(ref _refused);
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
        private readonly Channel<IReadOnlyList<Reading>> _channel;
        private readonly Action? _dropped;
        private readonly int _limit;
        private IReadOnlyList<Reading>? _current;
        private int _index;
        private int _waiting;
        private int _ended;

        internal Listener(LiveFeed feed, string address, Func<Reading, bool>? filter, Action? dropped, int queue)
        {
            _feed = feed;
            _dropped = dropped;
            Address = address;
            Filter = filter;
            _limit = queue;
            _channel = Channel.CreateUnbounded<IReadOnlyList<Reading>>(new UnboundedChannelOptions { SingleReader = true });
        }

        public string Address { get; }

        internal Func<Reading, bool>? Filter { get; }

        /// <summary>Readings waiting to be read.</summary>
        public int Waiting => Volatile.Read(ref _waiting);

        /// <summary>Waits for readings; false once the listener ended (dropped or disposed) and everything was read.</summary>
        public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
            _current is not null || await _channel.Reader.WaitToReadAsync(cancellationToken);

        /// <summary>The next waiting reading, in order. One reader only.</summary>
        public bool TryRead(out Reading reading)
        {
            while (_current is null || _index == _current.Count)
            {
                if (_current is not null)
                    Interlocked.Add(ref _waiting, -_current.Count);
                _current = null;
                _index = 0;
                if (!_channel.Reader.TryRead(out var next))
                {
                    reading = default;
                    return false;
                }

                _current = next;
            }

            reading = _current[_index++];
            return true;
        }

        /// <summary>False when this would put more than the queue holds in waiting: the listener is not keeping up.</summary>
        internal bool Write(IReadOnlyList<Reading> readings)
        {
            if (Interlocked.Add(ref _waiting, readings.Count) > _limit)
                return false;
            return _channel.Writer.TryWrite(readings);
        }

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
