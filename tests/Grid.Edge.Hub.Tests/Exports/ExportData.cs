using System.Globalization;
using System.Text;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>What the export tests publish and what they expect at the target.</summary>
internal static class ExportData
{
    public const long Start = 1_795_330_000_000;

    /// <summary>JSON batches of <paramref name="count"/> readings of one metric from <paramref name="first"/> on, one a second, values i * 0.5 + 0.25.</summary>
    public static IEnumerable<string> Batches(string metric, string unit, int first, int count, int perBatch = 500)
    {
        for (var start = first; start < first + count; start += perBatch)
        {
            var json = new StringBuilder("{\"readings\":[");
            for (var i = start; i < Math.Min(first + count, start + perBatch); i++)
            {
                if (i > start)
                    json.Append(',');
                json.Append(CultureInfo.InvariantCulture, $"{{\"m\":\"{metric}\",\"v\":{Value(i).ToString("R", CultureInfo.InvariantCulture)},\"t\":{Time(i)},\"unit\":\"{unit}\"}}");
            }

            yield return json.Append("]}").ToString();
        }
    }

    public static long Time(int i) => Start + (i * 1000L);

    public static double Value(int i) => (i * 0.5) + 0.25;

    public static async Task PublishAsync(IMqttClient client, string device, string metric, string unit, int first, int count)
    {
        foreach (var batch in Batches(metric, unit, first, count))
            Assert.True((await client.PublishAsync($"grid/{device}/batch", batch)).IsSuccess);
    }

    /// <summary>The points 0..count-1 exactly once each, with the device and unit tags, and nothing else.</summary>
    public static void AssertExactly(IReadOnlyList<(string Device, string? Unit, long TimeMs, double Value)> points, string device, string unit, int count)
    {
        Assert.Equal(count, points.Count);
        Assert.All(points, p => Assert.Equal((device, unit), (p.Device, p.Unit)));
        Assert.Equal(Enumerable.Range(0, count).Select(i => (Time(i), Value(i))), points.Select(p => (p.TimeMs, p.Value)).Order());
    }

    public static async Task WaitForAsync(Func<Task<IReadOnlyList<(string Device, string? Unit, long TimeMs, double Value)>>> read, int count, string what)
    {
        try
        {
            await Eventually.WaitForAsync(async () => (await read()).Count, n => n >= count, $"{count} points of {what} at the target", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException timeout)
        {
            var points = await read();
            var missing = Enumerable.Range(0, count).Select(Time).Except(points.Select(p => p.TimeMs)).ToList();
            throw new TimeoutException($"{timeout.Message}; {points.Count} there, {missing.Count} missing (first {string.Join(", ", missing.Take(5))})", timeout);
        }
    }
}
