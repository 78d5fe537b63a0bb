using Grid.Edge.Hub.Testing;
using System.Net;
using System.Net.Http.Json;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Tests.Support;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// Creating pairing codes and revoking devices is for the hub's own machine. The requests come over real TCP from
/// an address of this machine that is not loopback (the hub still listens on 127.0.0.1 only): to the hub they are
/// requests from another machine.
/// </summary>
public sealed class PairingAccessTests
{
    /// <summary>An IPv4 address of this machine other than loopback, to connect from.</summary>
    private static IPAddress OtherAddress()
    {
        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(address is not null, "this test connects from an IPv4 address of the machine other than 127.0.0.0/8, and there is none");
        return address;
    }

    /// <summary>An HTTP client whose connections leave from <paramref name="source"/>.</summary>
    /// <summary>A client from another address that carries the hub's admin token: logged in, but not on the hub's machine.</summary>
    private static HttpClient ClientFrom(IPAddress source, InProcessHub hub) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = hub.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestHeaders = { Authorization = hub.Http.DefaultRequestHeaders.Authorization },
        };

    [Fact]
    public async Task Pairing_is_managed_only_from_the_hubs_machine_unless_allowed_from_the_network()
    {
        var other = OtherAddress();
        await using var hub = await InProcessHub.StartAsync();
        using var remote = ClientFrom(other, hub);

        using (var create = await remote.PostAsJsonAsync("/api/pairing/codes", new { device = "van" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
            Assert.Contains("--pairing-from-network", (await create.Content.ReadFromJsonAsync<ErrorResponse>(Json.Options))!.Error, StringComparison.Ordinal);
        }

        using (var list = await remote.GetAsync("/api/pairing/codes"))
            Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        using (var revoke = await remote.DeleteAsync("/api/pairing/devices/van"))
            Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);
        Assert.Empty((await hub.GetAsync<List<PendingCodeResponse>>("/api/pairing/codes"))!);

        // Redeeming is open to the network (the code is the secret): a wrong code gets its reason, not a refusal.
        using (var redeem = await remote.PostAsJsonAsync("/api/pairing/redeem", new { code = "AAAA-AAAA", device = "van" }))
            Assert.Equal(HttpStatusCode.BadRequest, redeem.StatusCode);

        // From the hub's machine the same request makes a code.
        using (var local = await hub.Http.PostAsJsonAsync("/api/pairing/codes", new { device = "van" }))
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);

        await using var open = await InProcessHub.StartAsync(new Dictionary<string, string?> { ["Hub:PairingFromNetwork"] = "true" });
        using var fromNetwork = ClientFrom(other, open);
        using var allowed = await fromNetwork.PostAsJsonAsync("/api/pairing/codes", new { device = "van" });
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("van", (await allowed.Content.ReadFromJsonAsync<PairingCodeResponse>(Json.Options))!.Device);
    }
}
