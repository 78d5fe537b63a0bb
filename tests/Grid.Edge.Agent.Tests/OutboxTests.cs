using Grid.Edge.Agent.Outbox;
using Microsoft.Extensions.Time.Testing;

namespace Grid.Edge.Agent.Tests;

public sealed class OutboxTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private static List<OutboxReading> Readings(int count, long fromMs, string metric = "m") =>
        Enumerable.Range(0, count).Select(i => new OutboxReading(metric, i, "V", fromMs + (i * 1000L))).ToList();

    [Fact]
    public void Readings_come_out_oldest_first_and_leave_only_when_removed_and_survive_reopening()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "outbox.db");
        var time = new FakeTimeProvider(Start);
        using (var outbox = new SqliteOutbox(path, new OutboxOptions(), time))
        {
            outbox.Add(Readings(1200, Start.ToUnixTimeMilliseconds() - 3_600_000));
            var first = outbox.Peek(500);
            Assert.Equal(500, first.Count);
            Assert.Equal(Enumerable.Range(0, 500).Select(i => (double)i), first.Select(r => r.Reading.Value));
            outbox.Remove(first[^1].Id);
            Assert.Equal(700, outbox.Count);
            Assert.Equal(Start.ToUnixTimeMilliseconds() - 3_600_000 + 500_000, outbox.OldestTimestampMs);
        }

        using var reopened = new SqliteOutbox(path, new OutboxOptions(), time);
        Assert.Equal(700, reopened.Count);
        var next = reopened.Peek(1);
        Assert.Equal(500, Assert.Single(next).Reading.Value);
        Assert.Equal("V", next[0].Reading.Unit);
    }

    [Fact]
    public void The_count_bound_drops_the_oldest_and_counts_them_across_restarts()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "outbox.db");
        var options = new OutboxOptions { MaxReadings = 1000 };
        var time = new FakeTimeProvider(Start);
        using (var outbox = new SqliteOutbox(path, options, time))
        {
            outbox.Add(Readings(800, Start.ToUnixTimeMilliseconds()));
            outbox.Add(Readings(700, Start.ToUnixTimeMilliseconds() + 800_000));
            Assert.Equal(1000, outbox.Count);
            Assert.Equal(500, outbox.Dropped);
            Assert.Equal(500, outbox.Peek(1)[0].Reading.Value);
        }

        using var reopened = new SqliteOutbox(path, options, time);
        Assert.Equal(500, reopened.Dropped);
    }

    [Fact]
    public void The_age_bound_drops_what_is_too_old_and_counts_it()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(Start);
        using var outbox = new SqliteOutbox(Path.Combine(dir.Path, "outbox.db"), new OutboxOptions { MaxAgeDays = 1 }, time);
        outbox.Add(Readings(100, Start.ToUnixTimeMilliseconds() - (2 * 86_400_000L)));
        outbox.Add(Readings(50, Start.ToUnixTimeMilliseconds() - 1000));
        Assert.Equal(100, outbox.EnforceAge());
        Assert.Equal(50, outbox.Count);
        Assert.Equal(100, outbox.Dropped);
        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(50, outbox.EnforceAge());
        Assert.Equal(0, outbox.Count);
        Assert.Null(outbox.OldestTimestampMs);
    }

    [Fact]
    public void Bad_bounds_are_refused_with_the_setting_named()
    {
        Assert.Contains("Outbox:MaxReadings", new OutboxOptions { MaxReadings = 10 }.Validate(), StringComparison.Ordinal);
        Assert.Contains("Outbox:BatchReadings", new OutboxOptions { BatchReadings = 0 }.Validate(), StringComparison.Ordinal);
        Assert.Contains("Outbox:MaxAgeDays", new OutboxOptions { MaxAgeDays = 0 }.Validate(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, new OutboxOptions().Validate());
    }
}
