namespace Grid.Edge.Benchmarks;

/// <summary>One side of W8 (the hubs, or NATS): the in-sync cost and each cut's catch-up.</summary>
/// <param name="QuietBytes">Bytes both ways through the relay while in sync, over <paramref name="QuietSeconds"/>.</param>
internal sealed record CatchUpRun(double QuietSeconds, long QuietBytes, IReadOnlyList<CutCatchUp> Cuts);

/// <summary>One cut healed.</summary>
/// <param name="Seconds">From the heal (hubs: the relay lets connections through again; NATS: the mirror server started again) until the far side holds every point.</param>
/// <param name="LinkSeconds">Of which until the link was up again.</param>
/// <param name="Points">The points that had to cross (each side's writes during the cut).</param>
/// <param name="WireBytes">Bytes through the relay, both ways (TCP payload: all the protocol, framing and encryption).</param>
/// <param name="OwnBytes">The servers' own count (hubs: sync messages both ways from the peer counters; NATS: the leaf connection's in and out bytes in /leafz).</param>
/// <param name="FirstSeconds">When the first of the missing points arrived, where that is seen (the mirror's message count).</param>
internal sealed record CutCatchUp(string Cut, double Seconds, double LinkSeconds, long Points, long WireBytes, long OwnBytes, double? FirstSeconds = null)
{
    public double CatchUpSeconds => Seconds - LinkSeconds;

    public double WirePerPoint => WireBytes / (double)Points;
}
