using System.Threading.Channels;

namespace Grid.Edge.Agent.Outbox;

/// <summary>
/// Where sensors and the vehicle reader hand in readings. A writer loop takes everything queued and stores it in
/// the outbox in one transaction (group commit), so a fast OBD poll costs one fsync per batch, not per reading.
/// </summary>
public sealed class ReadingInbox
{
    private readonly Channel<OutboxReading> _channel = Channel.CreateBounded<OutboxReading>(new BoundedChannelOptions(100_000)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Readings handed in whose write to the outbox has not finished yet (queued or in the writer's hands).</summary>
    public long Waiting => Interlocked.Read(ref _accepted) - Interlocked.Read(ref _settled);

    private long _settled;

    /// <summary>The writer finished with <paramref name="count"/> readings (stored, or lost and logged).</summary>
    internal void Settled(int count) => Interlocked.Add(ref _settled, count);

    private long _accepted;

    /// <summary>Queues a reading; waits only if 100,000 are already waiting for the disk.</summary>
    public void Add(OutboxReading reading)
    {
        if (!_channel.Writer.TryWrite(reading))
            _channel.Writer.WriteAsync(reading).AsTask().GetAwaiter().GetResult();
        Interlocked.Increment(ref _accepted);
    }

    internal ChannelReader<OutboxReading> Reader => _channel.Reader;

    internal void Complete() => _channel.Writer.TryComplete();
}
