namespace Grid.Edge.Obd.Pids;

/// <summary>
/// A service 01 PID that becomes a time series: the hub metric it feeds, its unit, how many data bytes it has,
/// and the SAE J1979 formula. <see cref="Poll"/> says how often it is worth asking.
/// </summary>
public sealed record PidDefinition(int Pid, string Name, string Metric, string Unit, int Bytes, PollClass Poll, Func<byte[], double> Decode);

/// <summary>How often a PID is polled: engine state changes fast, temperatures slowly, counters rarely.</summary>
public enum PollClass
{
    Fast,
    Slow,
    Rare,
}
