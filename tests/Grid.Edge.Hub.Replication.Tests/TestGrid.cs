using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests;

/// <summary>A grid of a few hubs with real keys (made once: key generation is the slow part), for delta tests.</summary>
internal static class TestGrid
{
    public const long T0 = 1_795_341_600_000;

    public static readonly Id128 Grid = Id128.Hash("test-grid", [1]);

    public static readonly HubKeys[] Hubs = [.. Enumerable.Range(0, 6).Select(i => HubKeys.FromSeed(Seed(i)))];

    /// <summary>Hub 0..4 may write anything; hub 5 only series under "van5/".</summary>
    public static readonly DeltaVerifier Verifier = new(Grid, keyId =>
    {
        var i = Array.FindIndex(Hubs, h => h.KeyId == keyId);
        return i < 0 ? null : new SignerGrant(Hubs[i].Verifying, i == 5 ? ["van5/"] : [""]);
    });

    public static long Hlc(long ms) => WriteStamp.HlcOf(ms);

    public static byte[] Body(long t0, int points, double start)
    {
        var times = Enumerable.Range(0, points).Select(i => t0 + i * 1000L).ToArray();
        var values = Enumerable.Range(0, points).Select(i => Math.Round(start + i * 0.1, 1)).ToArray();
        return ChunkCodec.Encode(times, values);
    }

    /// <summary>A chain of <paramref name="count"/> deltas of one stream of hub <paramref name="hub"/>.</summary>
    public static List<SignedDelta> Chain(int hub, string series, int count, double start = 20, long t0 = T0)
    {
        var author = new StreamAuthor(Grid, series, ResolutionTier.Raw, Hubs[hub]);
        var chain = new List<SignedDelta>();
        for (var i = 0; i < count; i++)
        {
            var t = t0 + i * 10_000L;
            chain.Add(author.Next(Hlc(t + 10_000) + i, t, t + 10_000, Body(t, 10, start + i)));
        }

        return chain;
    }

    private static byte[] Seed(int i)
    {
        var seed = new byte[32];
        seed[0] = (byte)(i + 1);
        return seed;
    }
}
