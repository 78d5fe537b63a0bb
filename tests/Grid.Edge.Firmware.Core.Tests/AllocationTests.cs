using Grid.Edge.Firmware.Core.Station;
using Grid.Edge.Firmware.Core.Tests.Simulated;

namespace Grid.Edge.Firmware.Core.Tests;

/// <summary>
/// A powered station runs the same instance for months: the steady state must not allocate, or the small
/// nanoFramework heap fragments and the garbage collector stalls sampling.
/// </summary>
public sealed class AllocationTests
{
    private static (StationRig Rig, WeatherStation Station, CapturingLink Link) WarmStation(int publishEverySamples)
    {
        var link = new CapturingLink { Capture = false };
        var rig = new StationRig(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 86_400_000, 2048, link, new StationOptions
        {
            DeviceId = "alloc",
            SampleIntervalSeconds = 60,
            PublishEverySamples = publishEverySamples,
            WindWindowSeconds = 3,
        });
        var station = rig.Create();
        Assert.True(station.Start());
        // Warm up: first calls run static constructors and the JIT.
        for (var i = 0; i < 20; i++)
            rig.Power.DeepSleep(station.RunOnce());
        return (rig, station, link);
    }

    [Fact]
    public void A_sample_cycle_allocates_nothing_in_steady_state()
    {
        var (rig, station, _) = WarmStation(publishEverySamples: 1000);
        long worst = 0;
        var sampled = 0;
        for (var i = 0; i < 200; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var sleep = station.RunOnce();
            worst = Math.Max(worst, GC.GetAllocatedBytesForCurrentThread() - before);
            if (station.SampledLastRun)
                sampled++;
            rig.Power.DeepSleep(sleep);
            station.OnRainTip();
        }

        Assert.Equal(200, sampled);
        Assert.Equal(0, worst);
    }

    [Fact]
    public void A_publish_cycle_allocates_nothing_in_steady_state()
    {
        var (rig, station, link) = WarmStation(publishEverySamples: 2);
        long worst = 0;
        var published = link.Published;
        for (var i = 0; i < 100; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var sleep = station.RunOnce();
            worst = Math.Max(worst, GC.GetAllocatedBytesForCurrentThread() - before);
            rig.Power.DeepSleep(sleep);
        }

        Assert.True(link.Published - published >= 50);
        Assert.Equal(0, worst);
    }
}
