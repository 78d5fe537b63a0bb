using System.Security.Cryptography;
using System.Text;
using Grid.Edge.Hub.Replication.Node;
using Grid.Edge.Hub.Storage.Versions;

namespace Grid.Edge.Hub.Replication.Tests.Node;

public sealed class ContentDigestTests
{
    [Fact]
    public void The_digest_is_sha256_over_the_documented_layout_whatever_the_buffering()
    {
        // Enough points to fill the buffer several times, two origins.
        var points = Enumerable.Range(0, 20_000).Select(i => (Time: 1_800_000_000_000 + (i * 1000L), Value: i * 0.1, Stamp: new WriteStamp(WriteStamp.HlcOf(1_800_000_000_000 + (i * 1000L)) + (i % 3), i % 7 == 0 ? "van" : "home"))).ToList();
        using var digest = new ContentDigest();
        var expected = new MemoryStream();
        foreach (var series in new[] { "station/temp", "van/coolant" })
        {
            digest.Series(series);
            expected.Write(Encoding.UTF8.GetBytes(series + "\0"));
            foreach (var (time, value, stamp) in points)
            {
                digest.Point(time, value, stamp);
                expected.Write(BitConverter.GetBytes(time));
                expected.Write(BitConverter.GetBytes(BitConverter.DoubleToInt64Bits(value)));
                expected.Write(BitConverter.GetBytes(stamp.Hlc));
                expected.Write(Encoding.UTF8.GetBytes(stamp.Origin + "\0"));
            }
        }

        Assert.True(BitConverter.IsLittleEndian);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected.ToArray())), digest.Finish());
        Assert.Equal(40_000, digest.Points);
        Assert.Equal(2, digest.SeriesCount);
    }
}
