using System.Globalization;
using System.Text;

namespace Grid.Edge.Benchmarks;

/// <summary>One device's batch of readings: the JSON payload a device publishes (to the hub on grid/&lt;device&gt;/batch, to NATS on grid.&lt;device&gt;.batch).</summary>
internal readonly record struct ReadingBatch(string Device, byte[] Payload, int Points);

/// <summary>
/// W8's readings, the same for the hubs and for NATS: site A's devices (<c>dev000</c>...) hold the stored points, 1 s
/// apart, and keep writing every series at 1 Hz through each cut; site B's own devices (<c>site-b000</c>..., half as
/// many series) write through the cut too, and so does B on A's first device, at the same times with other values
/// (overlapping writes of the same series, which the grid resolves by stamp). Data time runs up to a minute ago:
/// the stored span first, then each cut's span in turn. Every value is a 1-decimal sine, as a meter reads.
/// </summary>
internal sealed class CatchUpWorkload
{
    private const int ReadingsPerMessage = 1000;
    private readonly long _start;

    public CatchUpWorkload(int series, long stored, IReadOnlyList<int> cutSeconds, long nowMs)
    {
        Devices = Math.Clamp(series / 100, 1, 100);
        Metrics = Math.Max(1, series / Devices);
        Series = Devices * Metrics;
        DevicesAtB = Math.Max(1, Devices / 2);
        StoredSeconds = (int)Math.Max(1, stored / Series);
        CutSeconds = cutSeconds;
        StepsPerMessage = Math.Max(1, ReadingsPerMessage / Metrics);
        _start = (nowMs / 1000 * 1000) - 60_000 - ((StoredSeconds + cutSeconds.Sum(s => (long)s)) * 1000L);
    }

    /// <summary>Site A's devices; each has <see cref="Metrics"/> series.</summary>
    public int Devices { get; }

    public int Metrics { get; }

    /// <summary>Site A's series (devices x metrics).</summary>
    public int Series { get; }

    /// <summary>Site B's own devices (half of A's, at least one).</summary>
    public int DevicesAtB { get; }

    public int StoredSeconds { get; }

    public IReadOnlyList<int> CutSeconds { get; }

    /// <summary>Seconds of every series of a device in one message (1000 readings a message, as W5's batches).</summary>
    public int StepsPerMessage { get; }

    public long StoredPoints => (long)Series * StoredSeconds;

    public (long From, long To) StoredWindow => (_start, _start + (StoredSeconds * 1000L));

    public (long From, long To) CutWindow(int cut)
    {
        var from = StoredWindow.To + (CutSeconds.Take(cut).Sum(s => (long)s) * 1000);
        return (from, from + (CutSeconds[cut] * 1000L));
    }

    /// <summary>The points A takes during a cut (every series of its devices, 1 Hz).</summary>
    public long PointsAtA(int cut) => (long)Series * CutSeconds[cut];

    /// <summary>The points B takes during a cut: its own devices' and those on A's first device.</summary>
    public long PointsAtB(int cut) => (long)(DevicesAtB + 1) * Metrics * CutSeconds[cut];

    /// <summary>The distinct points of a cut once merged (B's writes on A's first device overlap A's).</summary>
    public long PointsMerged(int cut) => (long)(Devices + DevicesAtB) * Metrics * CutSeconds[cut];

    /// <summary>Messages a cut's points come in, both sites together.</summary>
    public long MessagesOfCut(int cut) => (Devices + DevicesAtB + 1) * (long)Messages(CutSeconds[cut]);

    public long MessagesStored => Devices * (long)Messages(StoredSeconds);

    public IEnumerable<ReadingBatch> Stored() => Batches(DevicesOfA(), _start, StoredSeconds);

    public IEnumerable<ReadingBatch> CutAtA(int cut) => Batches(DevicesOfA(), CutWindow(cut).From, CutSeconds[cut]);

    public IEnumerable<ReadingBatch> CutAtB(int cut) =>
        Batches([.. Enumerable.Range(0, DevicesAtB).Select(d => ($"site-b{d:D3}", 100 + d, 0.0)), ("dev000", 0, 0.5)], CutWindow(cut).From, CutSeconds[cut]);

    private (string Name, int Index, double Offset)[] DevicesOfA() => [.. Enumerable.Range(0, Devices).Select(d => ($"dev{d:D3}", d, 0.0))];

    private int Messages(int seconds) => (seconds + StepsPerMessage - 1) / StepsPerMessage;

    /// <summary>In time order: for each span of <see cref="StepsPerMessage"/> seconds, one message per device.</summary>
    private IEnumerable<ReadingBatch> Batches((string Name, int Index, double Offset)[] devices, long from, int seconds)
    {
        var payload = new StringBuilder(64 * ReadingsPerMessage);
        for (var step = 0; step < seconds; step += StepsPerMessage)
        {
            foreach (var (name, index, offset) in devices)
            {
                payload.Clear().Append("{\"readings\":[");
                var points = 0;
                for (var s = step; s < Math.Min(step + StepsPerMessage, seconds); s++)
                {
                    var t = from + (s * 1000L);
                    for (var metric = 0; metric < Metrics; metric++)
                    {
                        if (points++ > 0)
                            payload.Append(',');
                        var value = Math.Round(20 + (5 * Math.Sin((t / 600_000.0) + metric + (index * 0.01))) + offset, 1).ToString(CultureInfo.InvariantCulture);
                        payload.Append(CultureInfo.InvariantCulture, $"{{\"m\":\"m{metric:D3}\",\"v\":{value},\"t\":{t},\"unit\":\"W\"}}");
                    }
                }

                payload.Append("]}");
                yield return new ReadingBatch(name, Encoding.UTF8.GetBytes(payload.ToString()), points);
            }
        }
    }
}
