using System.Net;
using System.Net.Sockets;
using CsCheck;
using Grid.Edge.Hub.Replication.Discovery;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Discovery;

public class BeaconMessageTests
{
    private static readonly byte[] Founder = TestGrid.Hubs[0].PublicKey.ToArray();

    private static VerifyingKey? Members(Id128 hub) =>
        TestGrid.Hubs.Take(4).FirstOrDefault(k => k.HubId == hub)?.Verifying;

    [Fact]
    public void A_member_opens_what_a_member_sealed_and_signed_and_nothing_else_opens()
    {
        var key = BeaconMessage.Key(TestGrid.Grid, Founder);
        var hub = TestGrid.Hubs[3];
        var sealedOnce = BeaconMessage.Seal(key, TestGrid.Grid, hub, 7420, 1_000);
        Assert.Equal(BeaconMessage.Size, sealedOnce.Length);
        Assert.Equal((hub.HubId, 7420, 1_000L), BeaconMessage.TryOpen(key, TestGrid.Grid, sealedOnce, Members));

        // Fresh nonce each time: two beacons of one hub do not even look alike, and neither shows its id or port.
        var again = BeaconMessage.Seal(key, TestGrid.Grid, hub, 7420, 1_000);
        Assert.NotEqual(sealedOnce, again);
        Assert.Equal(-1, sealedOnce.AsSpan().IndexOf(hub.HubId.ToBytes()));

        // Another grid's key, or the same grid under another founder, opens nothing.
        Assert.Null(BeaconMessage.TryOpen(BeaconMessage.Key(Id128.Hash("other", [2]), Founder), TestGrid.Grid, sealedOnce, Members));
        Assert.Null(BeaconMessage.TryOpen(BeaconMessage.Key(TestGrid.Grid, TestGrid.Hubs[1].PublicKey.Span), TestGrid.Grid, sealedOnce, Members));

        // Sealed right but not signed by the member it names (a removed member still knows the sealing key), or
        // naming a hub that is no member: refused.
        Assert.Null(BeaconMessage.TryOpen(key, TestGrid.Grid, sealedOnce, _ => TestGrid.Hubs[2].Verifying));
        Assert.Null(BeaconMessage.TryOpen(key, TestGrid.Grid, BeaconMessage.Seal(key, TestGrid.Grid, TestGrid.Hubs[5], 7420, 1_000), Members));

        // Any change of any bit is refused.
        for (var bit = 0; bit < sealedOnce.Length * 8; bit++)
        {
            var flipped = (byte[])sealedOnce.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Null(BeaconMessage.TryOpen(key, TestGrid.Grid, flipped, Members));
        }
    }

    [Fact]
    public void Random_datagrams_open_to_nothing()
    {
        var key = BeaconMessage.Key(TestGrid.Grid, Founder);
        Gen.Byte.Array[0, 160].Sample(bytes => Assert.Null(BeaconMessage.TryOpen(key, TestGrid.Grid, bytes, Members)), iter: 5_000);
        Gen.Byte.Array[BeaconMessage.Size - 4].Sample(tail => Assert.Null(BeaconMessage.TryOpen(key, TestGrid.Grid, [.. "GEB1"u8, .. tail], Members)), iter: 5_000);
    }

    [Fact]
    public async Task Two_beacons_bound_to_loopback_on_one_port_hear_each_other()
    {
        // The port is the system's choice, held by this socket for the whole test (the beacons share it).
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        holder.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        holder.Bind(new IPEndPoint(IPAddress.Parse("127.255.255.255"), 0));
        var port = ((IPEndPoint)holder.LocalEndPoint!).Port;

        var heardByA = new TaskCompletionSource<(IPAddress, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        var heardByB = new TaskCompletionSource<(IPAddress, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] fromA = [.. "GEB1"u8, .. new byte[BeaconMessage.Size - 4]];
        byte[] fromB = [.. fromA];
        fromB[^1] = 1;
        await using var a = LanBeacon.Start("127.0.0.1", port, () => fromA, (ip, m) => { if (m[^1] == 1) heardByA.TrySetResult((ip, m)); }, TimeSpan.FromMilliseconds(100))!;
        await using var b = LanBeacon.Start("127.0.0.1", port, () => fromB, (ip, m) => { if (m[^1] == 0) heardByB.TrySetResult((ip, m)); }, TimeSpan.FromMilliseconds(100))!;
        var (fromIp, message) = await heardByA.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(IPAddress.Loopback, fromIp);
        Assert.Equal(fromB, message);
        Assert.Equal(fromA, (await heardByB.Task.WaitAsync(TimeSpan.FromSeconds(10))).Item2);
        Assert.Null(LanBeacon.Start("::1", port, () => null, (_, _) => { }, TimeSpan.FromSeconds(1)));
    }
}
