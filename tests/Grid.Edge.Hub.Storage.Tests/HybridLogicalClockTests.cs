using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Storage.Tests;

/// <summary>The write clock across reboots of a board without a real-time clock, and its bound on peers' stamps.</summary>
public sealed class HybridLogicalClockTests : IDisposable
{
    private const long T0 = 1_795_341_600_000; // 2026-11-22T10:00:00Z
    private readonly TempDirectory _dir = new();

    private string ClockFile => Path.Combine(_dir.Path, "clock");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_persisted_clock_never_goes_back_across_a_restart_whose_wall_clock_is_behind()
    {
        var time = new SettableTime { Now = DateTimeOffset.FromUnixTimeMilliseconds(T0) };
        var before = new HybridLogicalClock(time, ClockFile);
        var handedOut = Enumerable.Range(0, 1000).Select(_ => before.Next()).ToList();
        before.Observe(WriteStamp.HlcOf(T0 + 3_000)); // a peer slightly ahead
        handedOut.Add(before.Next());

        // The board loses power and starts with its clock at the epoch, with no network to set it.
        time.Now = DateTimeOffset.UnixEpoch;
        var after = new HybridLogicalClock(time, ClockFile);
        var next = after.Next();
        Assert.True(next > handedOut.Max(), $"{next} after {handedOut.Max()}");

        // And again, from the second run's stamps.
        var third = new HybridLogicalClock(time, ClockFile);
        Assert.True(third.Next() > next);
    }

    [Fact]
    public void The_file_is_written_once_per_reservation_not_once_per_stamp()
    {
        var time = new SettableTime { Now = DateTimeOffset.FromUnixTimeMilliseconds(T0) };
        var clock = new HybridLogicalClock(time, ClockFile, TimeSpan.FromSeconds(10));
        clock.Next();
        var reserved = File.ReadAllText(ClockFile);
        Assert.Equal(WriteStamp.HlcOf(T0 + 10_000), long.Parse(reserved, System.Globalization.CultureInfo.InvariantCulture));
        for (var ms = 0; ms < 9_000; ms += 100)
        {
            time.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + ms);
            clock.Next();
        }

        Assert.Equal(reserved, File.ReadAllText(ClockFile));
        time.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 10_000);
        clock.Next();
        Assert.Equal(WriteStamp.HlcOf(T0 + 20_000), long.Parse(File.ReadAllText(ClockFile), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void A_stamp_too_far_ahead_is_refused_and_does_not_move_the_clock()
    {
        var time = new SettableTime { Now = DateTimeOffset.FromUnixTimeMilliseconds(T0) };
        var clock = new HybridLogicalClock(time, ClockFile);
        var maxSkew = TimeSpan.FromMinutes(10);

        Assert.False(clock.TryObserve(WriteStamp.HlcOf(T0 + 600_001), maxSkew));
        Assert.False(clock.TryObserve(WriteStamp.HlcOf(T0 + 86_400_000L * 365), maxSkew));
        Assert.Equal(WriteStamp.HlcOf(T0), clock.Next());

        Assert.True(clock.TryObserve(WriteStamp.HlcOf(T0 + 600_000), maxSkew));
        Assert.Equal(WriteStamp.HlcOf(T0 + 600_000) + 1, clock.Next());

        // Held back, the same stamp is taken once this hub's time has come close enough.
        var ahead = WriteStamp.HlcOf(T0 + 1_200_000);
        Assert.False(clock.TryObserve(ahead, maxSkew));
        time.Now = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 600_000);
        Assert.True(clock.TryObserve(ahead, maxSkew));
        Assert.Equal(ahead + 1, clock.Next());
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("-5")]
    public void A_damaged_clock_file_stops_the_store_with_the_file_and_what_to_do(string content)
    {
        File.WriteAllText(ClockFile, content);
        var error = Assert.Throws<InvalidDataException>(() => new HybridLogicalClock(TimeProvider.System, ClockFile));
        Assert.Contains(ClockFile, error.Message, StringComparison.Ordinal);
        Assert.Contains("delete the file", error.Message, StringComparison.Ordinal);
    }

    private sealed class SettableTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
