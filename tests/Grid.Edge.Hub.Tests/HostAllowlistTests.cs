using System.Net;
using Grid.Edge.Hub.Security;

namespace Grid.Edge.Hub.Tests;

/// <summary>The Host names the hub answers to, decided apart from the network (the machine's addresses are given).</summary>
public sealed class HostAllowlistTests
{
    private static HostAllowlist With(params string[] machine) =>
        new(["grid.home"], TimeProvider.System, () => machine.Select(IPAddress.Parse));

    [Theory]
    [InlineData("192.168.1.20")]
    [InlineData("fe80::1")]
    [InlineData("[fe80::1]")]
    [InlineData("2001:db8::20")]
    [InlineData("localhost")]
    [InlineData("LOCALHOST")]
    [InlineData("app.localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("127.1.2.3")]
    [InlineData("[::1]")]
    [InlineData("grid.home")]
    [InlineData("grid.home.")]
    public void The_machines_own_names_and_configured_ones_are_allowed(string host) =>
        Assert.True(With("192.168.1.20", "fe80::1%2", "::ffff:10.0.0.9", "2001:db8::20").IsAllowed(host));

    [Theory]
    [InlineData("10.0.0.9")]
    public void Mapped_addresses_count_as_what_they_map(string host) =>
        Assert.True(With("::ffff:10.0.0.9").IsAllowed(host));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(null)]
    [InlineData("attacker.example")]
    [InlineData("192.168.1.21")]
    [InlineData("localhost.attacker.example")]
    [InlineData("grid.home.attacker.example")]
    [InlineData("0.0.0.0")]
    public void Other_names_are_refused(string? host) =>
        Assert.False(With("192.168.1.20").IsAllowed(host));

    [Fact]
    public void A_new_address_of_the_machine_is_found_on_the_next_look()
    {
        var addresses = new List<IPAddress> { IPAddress.Parse("192.168.1.20") };
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var allowlist = new HostAllowlist([], time, () => addresses.ToList());
        Assert.False(allowlist.IsAllowed("10.1.1.5"));
        addresses.Add(IPAddress.Parse("10.1.1.5")); // the van joined another network
        Assert.False(allowlist.IsAllowed("10.1.1.5")); // looked a moment ago: not again at once, whatever is asked
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.True(allowlist.IsAllowed("10.1.1.5"));
    }

    [Theory]
    [InlineData("grid.home, 192.168.1.20 ,[fe80::1]", null)]
    [InlineData("grid.home,host/x", "'host/x' is not a host name or IP address")]
    [InlineData("bad_name!", "'bad_name!' is not a host name or IP address")]
    public void The_configured_list_is_checked(string list, string? problem)
    {
        HostAllowlist.Parse(list, out var found);
        if (problem is null)
            Assert.Null(found);
        else
            Assert.Contains(problem, found, StringComparison.Ordinal);
    }
}
