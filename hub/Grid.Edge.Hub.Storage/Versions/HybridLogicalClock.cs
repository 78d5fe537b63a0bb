using System.Globalization;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Storage.Versions;

/// <summary>
/// A hybrid logical clock (Kulkarni et al.): close to wall-clock milliseconds, but never goes backwards and always
/// moves past every stamp it has seen, so a correction written here is ordered after the write it corrects even
/// when another hub's clock runs ahead.
/// </summary>
/// <remarks>
/// A Raspberry Pi has no real-time clock: after a power cut it may start with its clock hours or years behind until
/// NTP answers, if it ever does offline. A clock given a file therefore keeps in it a value above every stamp it has
/// handed out (reserved a few seconds ahead, so the file is written once per reservation, not per stamp), and starts
/// from there: it never repeats or undercuts a stamp across restarts, whatever the wall clock says.
/// </remarks>
public sealed class HybridLogicalClock
{
    /// <summary>How far ahead of the last stamp the file reserves by default: one write per 10 s of stamps.</summary>
    public static readonly TimeSpan DefaultReservation = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly string? _file;
    private readonly long _reservation;
    private readonly Lock _gate = new();
    private long _last;
    private long _reserved;

    /// <summary>A clock kept in memory only (tests, tools): it starts again from the wall clock.</summary>
    public HybridLogicalClock(TimeProvider time)
        : this(time, file: null)
    {
    }

    /// <summary>A clock whose floor is kept in <paramref name="file"/> (created when missing).</summary>
    /// <exception cref="InvalidDataException">The file holds no clock value; it names the file and what to do.</exception>
    public HybridLogicalClock(TimeProvider time, string? file, TimeSpan? reservation = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _file = file;
        _reservation = WriteStamp.HlcOf((long)(reservation ?? DefaultReservation).TotalMilliseconds);
        if (_file is not null && File.Exists(_file))
            _last = _reserved = Read(_file);
    }

    /// <summary>The greatest stamp value handed out or observed so far.</summary>
    public long Last
    {
        get
        {
            lock (_gate)
                return _last;
        }
    }

    /// <summary>A new stamp value, greater than every value returned or observed before (in this run or an earlier one).</summary>
    public long Next()
    {
        var physical = WriteStamp.HlcOf(_time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_gate)
        {
            _last = Math.Max(physical, _last + 1);
            Reserve();
            return _last;
        }
    }

    /// <summary>Takes in a stamp value seen elsewhere (a stored point, a peer's write).</summary>
    public void Observe(long hlc)
    {
        lock (_gate)
        {
            if (hlc <= _last)
                return;
            _last = hlc;
            Reserve();
        }
    }

    /// <summary>
    /// Takes in a peer's stamp unless it is more than <paramref name="maxSkew"/> ahead of this hub's wall clock:
    /// a peer whose clock runs far ahead (or lies) must not drag every later stamp of the grid along with it.
    /// False, and nothing observed, when the stamp is too far ahead; the caller holds it until it is not.
    /// </summary>
    public bool TryObserve(long hlc, TimeSpan maxSkew)
    {
        var limit = _time.GetUtcNow().ToUnixTimeMilliseconds() + (long)maxSkew.TotalMilliseconds;
        if (hlc >> WriteStamp.CounterBits > limit)
            return false;
        Observe(hlc);
        return true;
    }

    private void Reserve()
    {
        if (_file is null || _last < _reserved)
            return;

        // Written before the stamp leaves: a crash right after still finds a floor above it.
        var reserved = _last + _reservation;
        DurableFile.WriteAllText(_file, reserved.ToString(CultureInfo.InvariantCulture) + "\n");
        _reserved = reserved;
    }

    private static long Read(string file)
    {
        var text = File.ReadAllText(file).Trim();
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new InvalidDataException(
                $"The clock file {file} holds no clock value ('{(text.Length > 40 ? text[..40] + "..." : text)}'). Stamps " +
                "must never go back, so the store does not guess: if the system clock is right, delete the file and start again.");
        }

        return value;
    }
}
