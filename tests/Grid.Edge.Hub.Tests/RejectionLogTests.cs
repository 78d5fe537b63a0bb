using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Grid.Edge.Hub.Tests;

public class RejectionLogTests
{
    private static Rejection Bad(string device) => new(RejectReason.UnparsablePayload, "payload 'x' is not a number", device, "temperature");

    [Fact]
    public void One_broken_device_cannot_flood_the_log()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-22T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var log = new RejectionLog(factory.CreateLogger<RejectionLog>(), time, logInterval: TimeSpan.FromSeconds(30));

        for (var i = 0; i < 500; i++)
            log.Record("grid/broken/temperature", Bad("broken"), "c1");
        log.Record("grid/other/temperature", Bad("other"), "c2");
        Assert.Equal(2, logs.Entries.Count);

        time.Advance(TimeSpan.FromSeconds(31));
        log.Record("grid/broken/temperature", Bad("broken"), "c1");
        Assert.Equal(3, logs.Entries.Count);
        Assert.Contains("499 more from this device were not logged", logs.Entries.Last().Message, StringComparison.Ordinal);

        Assert.Equal(502, log.Total);
        Assert.Equal([("broken", "unparsable_payload", 501L), ("other", "unparsable_payload", 1L)], log.Counts());
    }

    [Fact]
    public void Keeps_the_most_recent_thousand_newest_first()
    {
        var log = new RejectionLog(Microsoft.Extensions.Logging.Abstractions.NullLogger<RejectionLog>.Instance, TimeProvider.System);
        for (var i = 0; i < 1500; i++)
            log.Record($"grid/d{i % 3}/x", new Rejection(RejectReason.BadMetric, "n" + i, "d" + (i % 3), null), null);
        var recent = log.Recent();
        Assert.Equal(1000, recent.Count);
        Assert.Equal("n1499", recent[0].Detail);
        Assert.Equal("n500", recent[^1].Detail);
        Assert.All(log.Recent("d1"), r => Assert.Equal("d1", r.Device));
        Assert.Equal(10, log.Recent(limit: 10).Count);
    }
}
