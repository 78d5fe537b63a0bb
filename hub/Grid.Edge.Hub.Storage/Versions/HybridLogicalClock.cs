namespace Grid.Edge.Hub.Storage.Versions;

/// <summary>
/// A hybrid logical clock (Kulkarni et al.): close to wall-clock milliseconds, but never goes backwards and always
/// moves past every stamp it has seen, so a correction written here is ordered after the write it corrects even
/// when another hub's clock runs ahead.
/// </summary>
public sealed class HybridLogicalClock(TimeProvider time)
{
    private readonly Lock _gate = new();
    private long _last;

    /// <summary>A new stamp value, greater than every value returned or observed before.</summary>
    public long Next()
    {
        var physical = WriteStamp.HlcOf(time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_gate)
        {
            _last = Math.Max(physical, _last + 1);
            return _last;
        }
    }

    /// <summary>Takes in a stamp value seen elsewhere (a stored point, a peer's write).</summary>
    public void Observe(long hlc)
    {
        lock (_gate)
        {
            if (hlc > _last)
                _last = hlc;
        }
    }
}
