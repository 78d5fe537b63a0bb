using Grid.Edge.Hub.Testing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grid.Edge.Hub.Security;
using Grid.Edge.Hub.Tests.Support;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>
/// The broker's access rules as a matrix over real MQTT 3.1.1 and 5, with MQTTnet and Mosquitto's clients: identity
/// kinds (anonymous from this machine, a device, a service user, a revoked device) x actions (publish, retain,
/// subscribe, will, takeover, reserved client ids) x topic classes (the device's own, another device's, alerts,
/// foreign). Each case is judged by what a watching subscriber received and what a fresh subscriber finds retained,
/// after a sentinel proves the watcher was past the point where a forbidden message would have arrived.
/// </summary>
public sealed class MqttAclMatrixTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string DeviceA = "dev-a";
    private const string DeviceB = "dev-b";
    private const string ServiceName = "svc";
    private const string RevokedName = "dev-rev";

    // Connections meant to be refused come from another loopback address: the hub backs refusals off per address.
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    private static readonly Party Anonymous = new("anonymous loopback", null, Unrestricted: true);
    private static readonly Party Device = new("device dev-a", DeviceA, Unrestricted: false);
    private static readonly Party OtherDevice = new("device dev-b", DeviceB, Unrestricted: false);
    private static readonly Party Service = new("service svc", ServiceName, Unrestricted: true);
    private static readonly Party[] Parties = [Anonymous, Device, Service];

    private static readonly Dictionary<string, string> Passwords = new(StringComparer.Ordinal)
    {
        [DeviceA] = "dev-a-password",
        [DeviceB] = "dev-b-password",
        [ServiceName] = "svc-password",
        [RevokedName] = "dev-rev-password",
    };

    private InProcessHub _hub = null!;
    private string _usersFile = null!;

    public enum Target
    {
        OwnStatus,
        OwnReading,
        OtherStatus,
        OtherReading,
        Alerts,
        Foreign,
    }

    public enum Client
    {
        MqttNet311,
        MqttNet5,
        MosquittoPub311,
        MosquittoPub5,
    }

    private string Port => _hub.Mqtt.Port.ToString(CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        _hub = await InProcessHub.StartAsync();
        _usersFile = Path.Combine(_hub.DataDir, "mqtt-users");
        WriteUsers(new Dictionary<string, (string, bool)>
        {
            [DeviceA] = (Passwords[DeviceA], false),
            [DeviceB] = (Passwords[DeviceB], false),
            [ServiceName] = (Passwords[ServiceName], true),
            [RevokedName] = (Passwords[RevokedName], false),
        });
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private void WriteUsers(Dictionary<string, (string Password, bool Service)> users) =>
        UsersFile.Write(_usersFile, users.ToDictionary(u => u.Key, u => UsersFile.Entry(PasswordHash.Create(u.Value.Password, iterations: 1000), u.Value.Service), StringComparer.Ordinal));

    private static string TopicOf(Target target, int n) => target switch
    {
        Target.OwnStatus => $"grid/{DeviceA}/status",
        Target.OwnReading => $"grid/{DeviceA}/c{n}",
        Target.OtherStatus => $"grid/{DeviceB}/status",
        Target.OtherReading => $"grid/{DeviceB}/c{n}",
        Target.Alerts => $"grid/alerts/c{n}/{DeviceB}",
        _ => $"cmnd/plug{n}/POWER",
    };

    private static bool MayPublish(Party party, Target target) => party.Unrestricted || target is Target.OwnStatus or Target.OwnReading;

    private static bool MayRetain(Party party, Target target) => party.Unrestricted || target is Target.OwnStatus;

    private Task<IMqttClient> ConnectAsync(Party party, string suffix, MqttProtocolVersion version, IPAddress? from = null, Action<MqttClientOptionsBuilder>? configure = null) =>
        TestMqtt.ConnectAsync(_hub.Mqtt, party.ClientId(suffix), version, party.User, party.User is null ? null : Passwords[party.User], configure, from);

    [Fact]
    public async Task Publishes_are_delivered_and_retained_only_where_the_sender_may_publish()
    {
        await using var watcher = await Watcher.StartAsync(_hub.Mqtt);
        var cases = new List<PublishCase>();
        var connections = new Dictionary<(Client, Party), IMqttClient>();
        try
        {
            foreach (var client in Enum.GetValues<Client>())
            {
                foreach (var party in Parties)
                {
                    foreach (var target in Enum.GetValues<Target>())
                    {
                        foreach (var retain in new[] { false, true })
                        {
                            var n = cases.Count + 1;
                            var c = new PublishCase(n, client, party, target, retain, TopicOf(target, n), n.ToString(CultureInfo.InvariantCulture));
                            cases.Add(c);
                            await PublishAsync(c, connections);
                        }
                    }
                }
            }
        }
        finally
        {
            foreach (var connection in connections.Values)
                connection.Dispose();
        }

        await watcher.SentinelAsync(_hub.Mqtt);
        await using var late = await Watcher.StartAsync(_hub.Mqtt);
        await late.SentinelAsync(_hub.Mqtt);

        var unauthorized = cases.Where(c => !c.Allowed && watcher.Has(c.Topic, c.Payload)).ToList();
        var missing = cases.Where(c => c.Allowed && !watcher.Has(c.Topic, c.Payload)).ToList();
        var expectedRetained = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in cases.Where(c => c.Retain && c.Allowed))
            expectedRetained[c.Topic] = c.Payload;
        var caseTopics = cases.Select(c => c.Topic).ToHashSet(StringComparer.Ordinal);
        var retained = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (topic, payload, _) in late.Received.Where(m => m.Retain && caseTopics.Contains(m.Topic)))
            retained[topic] = payload;

        output.WriteLine($"publish matrix: {cases.Count} cases ({cases.Count(c => c.Allowed)} allowed, {cases.Count(c => !c.Allowed)} refused), " +
            $"{unauthorized.Count} unauthorised deliveries, {missing.Count} allowed but missing, {retained.Count} retained (expected {expectedRetained.Count})");
        Assert.True(unauthorized.Count == 0, "delivered although refused: " + string.Join("; ", unauthorized));
        Assert.True(missing.Count == 0, "allowed but never delivered: " + string.Join("; ", missing));
        Assert.Equal(expectedRetained, retained);
    }

    private async Task PublishAsync(PublishCase c, Dictionary<(Client, Party), IMqttClient> connections)
    {
        switch (c.Client)
        {
            case Client.MqttNet311 or Client.MqttNet5:
                if (!connections.TryGetValue((c.Client, c.Party), out var client))
                {
                    client = await ConnectAsync(c.Party, "pub-" + c.Client, c.Client == Client.MqttNet5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311);
                    connections[(c.Client, c.Party)] = client;
                }

                var result = await client.PublishAsync(c.Topic, c.Payload, MqttQualityOfServiceLevel.AtLeastOnce, c.Retain);
                // MQTT 5 says why (a status that is not online/offline is delivered, but answered 0x99).
                if (c.Client == Client.MqttNet5)
                    Assert.True(c.Allowed == (result.ReasonCode != MqttClientPublishReasonCode.NotAuthorized), $"{c}: PUBACK {result.ReasonCode}");
                break;
            default:
                var args = new List<string> { "-h", "127.0.0.1", "-p", Port, "-V", c.Client == Client.MosquittoPub5 ? "mqttv5" : "mqttv311", "-q", "1", "-t", c.Topic, "-m", c.Payload, "-i", c.Party.ClientId("mp" + c.Number) };
                if (c.Retain)
                    args.Add("-r");
                if (c.Party.User is { } user)
                    args.AddRange(["-u", user, "-P", Passwords[user]]);
                var (exit, text) = await Mosquitto.RunAsync("mosquitto_pub", [.. args]);
                if (c.Allowed)
                    Assert.True(exit == 0, $"{c}: {text}");
                break;
        }
    }

    [Fact]
    public async Task Subscriptions_deliver_only_what_the_subscriber_may_read()
    {
        string[] filters = ["#", "grid/#", "grid/+/config/p", $"grid/{DeviceA}/config/#", $"grid/{DeviceB}/#", "grid/alerts/#", "cmnd/#", "$SYS/#"];
        string[] probes = [$"grid/{DeviceA}/config/p", $"grid/{DeviceB}/config/p", $"grid/{DeviceB}/temperature", $"grid/alerts/frost/{DeviceB}", "cmnd/plug/POWER", "$SYS/broker/load"];
        var sentinel = $"grid/{DeviceA}/config/sentinel";
        var subscribers = new List<(string Name, Party Party, Func<IReadOnlyList<(string Topic, string Payload)>> Messages)>();
        var mqttClients = new List<IMqttClient>();
        var mosquittos = new List<Mosquitto.Subscriber>();
        try
        {
            foreach (var party in Parties)
            {
                foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
                {
                    var client = await ConnectAsync(party, "sub-" + version, version);
                    mqttClients.Add(client);
                    var messages = new System.Collections.Concurrent.ConcurrentQueue<(string, string)>();
                    client.ApplicationMessageReceivedAsync += e =>
                    {
                        messages.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
                        return Task.CompletedTask;
                    };
                    var options = new MqttClientSubscribeOptionsBuilder();
                    foreach (var filter in filters)
                        options.WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce);
                    var subscribed = await client.SubscribeAsync(options.Build());
                    var granted = subscribed.Items.Where(i => (int)i.ResultCode <= 2).Select(i => i.TopicFilter.Topic).ToList();
                    Assert.Equal(filters.Where(f => MaySubscribe(party, f)), granted);
                    subscribers.Add(($"{party.Name} MQTTnet {version}", party, () => messages.ToList()));
                }

                // Mosquitto's mosquitto_sub as the anonymous and the device subscriber, over both versions.
                if (party == Service)
                    continue;
                foreach (var version in new[] { "mqttv311", "mqttv5" })
                {
                    var args = new List<string> { "-h", "127.0.0.1", "-p", Port, "-V", version, "-q", "1", "-v", "-i", party.ClientId("ms-" + version) };
                    if (party.User is { } user)
                        args.AddRange(["-u", user, "-P", Passwords[user]]);
                    foreach (var filter in filters)
                        args.AddRange(["-t", filter]);
                    var process = Mosquitto.Subscribe([.. args]);
                    mosquittos.Add(process);
                    subscribers.Add(($"{party.Name} mosquitto_sub {version}", party, () => process.Lines.Select(l => l.Split(' ', 2)).Select(p => (p[0], p.Length > 1 ? p[1] : string.Empty)).ToList()));
                }
            }

            using var publisher = await TestMqtt.ConnectAsync(_hub.Mqtt);

            // mosquitto_sub subscribes a moment after it starts: announce until every one has heard it.
            await Eventually.WaitForAsync(
                async () =>
                {
                    await publisher.PublishAsync(sentinel, "ready");
                    return subscribers.All(s => s.Messages().Contains((sentinel, "ready")));
                },
                ready => ready,
                "every subscriber to be subscribed");
            foreach (var probe in probes)
                await publisher.PublishAsync(probe, "probe");
            await publisher.PublishAsync(sentinel, "end");
            await Eventually.WaitForAsync(
                () => Task.FromResult(subscribers.All(s => s.Messages().Contains((sentinel, "end")))),
                done => done,
                "the end sentinel at every subscriber");

            var unauthorized = 0;
            foreach (var (name, party, messagesOf) in subscribers)
            {
                var received = messagesOf().Where(m => m.Topic != sentinel).Select(m => m.Topic).Distinct().Order(StringComparer.Ordinal).ToList();
                var expected = probes.Where(p => filters.Where(f => MaySubscribe(party, f)).Any(f => MqttTopicFilterComparer.Compare(p, f) == MqttTopicFilterCompareResult.IsMatch)).Order(StringComparer.Ordinal).ToList();
                unauthorized += received.Except(expected).Count();
                Assert.True(expected.SequenceEqual(received), $"{name}: expected [{string.Join(", ", expected)}], received [{string.Join(", ", received)}]");
            }

            output.WriteLine($"subscribe matrix: {subscribers.Count} subscribers x {filters.Length} filters x {probes.Length} probes, {unauthorized} unauthorised deliveries");
        }
        finally
        {
            foreach (var client in mqttClients)
                client.Dispose();
            foreach (var process in mosquittos)
                process.Dispose();
        }
    }

    private static bool MaySubscribe(Party party, string filter) => party.Unrestricted || filter.StartsWith($"grid/{party.User}/config/", StringComparison.Ordinal);

    [Fact]
    public async Task Wills_are_accepted_and_delivered_only_on_topics_the_client_may_publish()
    {
        await using var watcher = await Watcher.StartAsync(_hub.Mqtt);
        var cases = new List<(Party Party, Target Target, string Topic, string Payload, bool Retain, bool Allowed)>();
        var n = 100;

        // Wills on status topics are retained (as the agent's are); the others are not.
        (string Topic, string Payload, bool Retain, bool Allowed) NewCase(Party party, Target target)
        {
            n++;
            var retain = target is Target.OwnStatus or Target.OtherStatus;
            var allowed = retain ? MayRetain(party, target) : MayPublish(party, target);
            var topic = TopicOf(target, n);
            var payload = "will-" + n;
            cases.Add((party, target, topic, payload, retain, allowed));
            return (topic, payload, retain, allowed);
        }

        foreach (var party in Parties)
        {
            foreach (var target in new[] { Target.OwnStatus, Target.OwnReading, Target.OtherStatus, Target.OtherReading, Target.Alerts, Target.Foreign })
            {
                var (topic, payload, retain, allowed) = NewCase(party, target);
                try
                {
                    var socket = await RawMqtt.ConnectWithWillAsync(_hub.Mqtt, party.ClientId("will" + n), topic, payload, party.User, party.User is null ? null : Passwords[party.User], retain);
                    Assert.True(allowed, $"{party.Name}: a will on {topic} was accepted");

                    // Power lost: no DISCONNECT, so the broker publishes the will.
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Dispose();
                    await Eventually.WaitForAsync(() => Task.FromResult(watcher.Has(topic, payload)), seen => seen, $"the will of {party.Name} on {topic}");
                }
                catch (ConnectRefusedException refused)
                {
                    Assert.False(allowed, $"{party.Name}: a will on {topic} was refused ({refused.Code})");
                    Assert.Equal(5, refused.Code); // not authorized
                }
            }
        }

        // Mosquitto's mosquitto_sub as the device, over 3.1.1 and 5, killed so that the broker publishes its will
        // (from its own address, allowed cases first: refusals back off per address).
        var server = _hub.Services.GetRequiredService<MqttServer>();
        var mosquittoCases = new[] { "mqttv311", "mqttv5" }
            .SelectMany(version => new[] { Target.OwnStatus, Target.OwnReading, Target.OtherStatus, Target.Alerts, Target.Foreign }.Select(target => (Version: version, Target: target)))
            .OrderBy(c => MayPublish(Device, c.Target) ? 0 : 1)
            .ToList();
        foreach (var (version, target) in mosquittoCases)
        {
            var (topic, payload, retain, allowed) = NewCase(Device, target);
            var id = Device.ClientId("mw" + n);
            List<string> args = ["-h", "127.0.0.1", "-A", "127.0.0.3", "-p", Port, "-V", version, "-i", id, "-u", DeviceA, "-P", Passwords[DeviceA], "-t", $"grid/{DeviceA}/config/x", "--will-topic", topic, "--will-payload", payload, "--will-qos", "1"];
            if (retain)
                args.Add("--will-retain");
            using var process = Mosquitto.Subscribe([.. args]);
            if (allowed)
            {
                await Eventually.WaitForAsync(async () => (await server.GetClientsAsync()).Any(c => c.Id == id), connected => connected, $"mosquitto_sub {version} with a will on {topic} to connect");
                process.Dispose(); // SIGKILL: no DISCONNECT
                await Eventually.WaitForAsync(() => Task.FromResult(watcher.Has(topic, payload)), seen => seen, $"the will of mosquitto_sub {version} on {topic}");
            }
            else
            {
                await process.WaitForExitAsync(TimeSpan.FromSeconds(30), $"mosquitto_sub {version} with a will on {topic} to be refused");
                Assert.Contains("not authori", process.Output, StringComparison.OrdinalIgnoreCase);
            }
        }

        // MQTT 5 with MQTTnet: the same rule.
        var v5 = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(Device, "will-v5", MqttProtocolVersion.V500, Attacker, b => b.WithWillTopic($"grid/{DeviceB}/status").WithWillPayload("will-v5").WithWillRetain()));
        Assert.Contains("NotAuthorized", v5.ToString(), StringComparison.Ordinal);

        await watcher.SentinelAsync(_hub.Mqtt);
        var unauthorized = cases.Where(c => !c.Allowed && watcher.Has(c.Topic, c.Payload)).ToList();
        output.WriteLine($"will matrix: {cases.Count} cases ({cases.Count(c => c.Allowed)} allowed and delivered, {cases.Count(c => !c.Allowed)} refused at CONNECT), {unauthorized.Count} unauthorised deliveries");
        Assert.Empty(unauthorized);
        Assert.False(watcher.Has($"grid/{DeviceB}/status", "will-v5"));
    }

    [Fact]
    public async Task Client_ids_of_other_principals_and_reserved_ids_are_refused_and_their_holders_stay()
    {
        // Victims: a device on its own id, an anonymous local client and a service, both with persistent sessions.
        var victims = new List<(string Name, IMqttClient Client, List<MqttClientDisconnectReason> Drops)>();
        async Task AddVictimAsync(string name, Party party, string clientId, MqttProtocolVersion version, string filter)
        {
            var client = await TestMqtt.ConnectAsync(_hub.Mqtt, clientId, version, party.User, party.User is null ? null : Passwords[party.User], b => b.WithCleanSession(false).WithSessionExpiryInterval(300));
            var drops = new List<MqttClientDisconnectReason>();
            client.DisconnectedAsync += e =>
            {
                lock (drops)
                    drops.Add(e.Reason);
                return Task.CompletedTask;
            };
            await client.SubscribeAsync(filter, MqttQualityOfServiceLevel.AtLeastOnce);
            victims.Add((name, client, drops));
        }

        await AddVictimAsync("device dev-a", Device, DeviceA, MqttProtocolVersion.V500, $"grid/{DeviceA}/config/#");
        await AddVictimAsync("anonymous", Anonymous, "anon-victim", MqttProtocolVersion.V311, "#");
        await AddVictimAsync("service", Service, "svc:victim", MqttProtocolVersion.V500, "#");
        var received = victims.ToDictionary(v => v.Name, _ => new System.Collections.Concurrent.ConcurrentQueue<string>());
        foreach (var (name, client, _) in victims)
        {
            client.ApplicationMessageReceivedAsync += e =>
            {
                received[name].Enqueue(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
                return Task.CompletedTask;
            };
        }

        try
        {
            var attempts = 0;
            var admitted = new List<string>();
            string[] ids = [DeviceA, "anon-victim", "svc:victim", ClientIds.Hub, ClientIds.Hub + ":x", ClientIds.AssignedPrefix + "0123"];
            foreach (var attacker in new[] { Anonymous, Device, OtherDevice, Service })
            {
                foreach (var id in ids)
                {
                    // A principal resuming its own session is allowed (not an attack).
                    if ((attacker == Anonymous && id == "anon-victim") || (attacker == Device && id == DeviceA) || (attacker == Service && id == "svc:victim"))
                        continue;
                    foreach (var clean in new[] { true, false })
                    {
                        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
                        {
                            attempts++;
                            try
                            {
                                using var intruder = await TestMqtt.ConnectAsync(_hub.Mqtt, id, version, attacker.User, attacker.User is null ? null : Passwords[attacker.User], b => b.WithCleanSession(clean), Attacker);
                                admitted.Add($"{attacker.Name} as '{id}' clean={clean} {version}");
                            }
                            catch (Exception ex) when (ex is MqttConnectionRefusedException or MQTTnet.Adapter.MqttConnectingFailedException)
                            {
                            }
                        }
                    }
                }
            }

            // Mosquitto's clients get the same answers.
            foreach (var (id, user) in new[] { (ClientIds.Hub, (string?)null), (DeviceA, (string?)DeviceB), (DeviceA, null), ("anon-victim", ServiceName) })
            {
                foreach (var version in new[] { "mqttv311", "mqttv5" })
                {
                    attempts++;
                    var args = new List<string> { "-h", "127.0.0.1", "-A", Attacker.ToString(), "-p", Port, "-V", version, "-q", "1", "-t", "cmnd/plug/POWER", "-m", "OFF", "-i", id };
                    if (user is not null)
                        args.AddRange(["-u", user, "-P", Passwords[user]]);
                    var (exit, text) = await Mosquitto.RunAsync("mosquitto_pub", [.. args]);
                    if (exit == 0)
                        admitted.Add($"mosquitto_pub {version} as '{id}' user {user}: {text}");
                }
            }

            output.WriteLine($"takeover and reserved-id matrix: {attempts} CONNECTs, {admitted.Count} admitted");
            Assert.True(admitted.Count == 0, "admitted: " + string.Join("; ", admitted));

            // Every victim is still connected, was never knocked off, and still receives.
            using (var publisher = await TestMqtt.ConnectAsync(_hub.Mqtt))
                await publisher.PublishAsync($"grid/{DeviceA}/config/after", "after");
            foreach (var (name, client, drops) in victims)
            {
                await Eventually.WaitForAsync(() => Task.FromResult(received[name].Contains("after")), seen => seen, $"{name} to receive after the attacks");
                Assert.True(client.IsConnected, name);
                lock (drops)
                    Assert.Empty(drops);
            }

            // The same principal may take its own session over: it resumes it, with its own identity.
            using var again = await TestMqtt.ConnectAsync(_hub.Mqtt, "anon-victim", MqttProtocolVersion.V311, configure: b => b.WithCleanSession(false));
            await Eventually.WaitForAsync(() => Task.FromResult(victims[1].Client.IsConnected), connected => !connected, "the anonymous victim to be taken over by its own principal");
        }
        finally
        {
            foreach (var (_, client, _) in victims)
                client.Dispose();
        }
    }

    [Fact]
    public async Task A_resumed_session_gets_the_identity_of_the_new_connection_not_the_old_one()
    {
        await using var watcher = await Watcher.StartAsync(_hub.Mqtt);
        using var first = await ConnectAsync(Service, "roles", MqttProtocolVersion.V500, configure: b => b.WithCleanSession(false).WithSessionExpiryInterval(300));

        // The service becomes a device; at once the same user resumes the still-open session (usually before the
        // hub has closed the old connection, so the session with the service's identity is taken over).
        WriteUsers(new Dictionary<string, (string, bool)>
        {
            [DeviceA] = (Passwords[DeviceA], false),
            [DeviceB] = (Passwords[DeviceB], false),
            [ServiceName] = (Passwords[ServiceName], false),
        });
        using var second = new MqttClientFactory().CreateMqttClient();
        var connected = await second.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _hub.Mqtt.Port)
            .WithClientId(Service.ClientId("roles"))
            .WithCredentials(ServiceName, Passwords[ServiceName])
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanSession(false)
            .WithSessionExpiryInterval(300)
            .Build());
        output.WriteLine($"session present on resume: {connected.IsSessionPresent}");

        var stolen = await second.PublishAsync($"grid/{DeviceB}/status", "stolen", retain: true);
        var own = await second.PublishAsync($"grid/{ServiceName}/temperature", "21");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, stolen.ReasonCode);
        Assert.True(own.IsSuccess, own.ReasonCode.ToString());
        await watcher.SentinelAsync(_hub.Mqtt);
        Assert.True(watcher.Has($"grid/{ServiceName}/temperature", "21"));
        Assert.False(watcher.Has($"grid/{DeviceB}/status", "stolen"));
        await Eventually.WaitForAsync(() => Task.FromResult(first.IsConnected), c => !c, "the service's old connection to close");
    }

    [Fact]
    public async Task Revoking_or_changing_credentials_closes_connections_within_two_seconds_and_their_wills_are_not_delivered()
    {
        await using var watcher = await Watcher.StartAsync(_hub.Mqtt);
        using var revoked = await RawMqtt.ConnectWithWillAsync(_hub.Mqtt, RevokedName, $"grid/{RevokedName}/status", "will-revoked", RevokedName, Passwords[RevokedName]);
        using var changed = await TestMqtt.ConnectAsync(_hub.Mqtt, DeviceB, MqttProtocolVersion.V500, DeviceB, Passwords[DeviceB]);
        var changedClosed = new TaskCompletionSource<MqttClientDisconnectReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.DisconnectedAsync += e =>
        {
            changedClosed.TrySetResult(e.Reason);
            return Task.CompletedTask;
        };

        // One write: dev-rev removed, dev-b's password changed.
        var start = System.Diagnostics.Stopwatch.StartNew();
        WriteUsers(new Dictionary<string, (string, bool)>
        {
            [DeviceA] = (Passwords[DeviceA], false),
            [DeviceB] = ("dev-b-new-password", false),
            [ServiceName] = (Passwords[ServiceName], true),
        });
        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (await revoked.ReceiveAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Closed with a reset rather than a FIN: closed all the same.
        }

        var revokedAfter = start.Elapsed;
        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, await changedClosed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var changedAfter = start.Elapsed;
        output.WriteLine($"revoked device closed after {revokedAfter.TotalMilliseconds:0} ms, changed password after {changedAfter.TotalMilliseconds:0} ms");
        Assert.True(revokedAfter < TimeSpan.FromSeconds(2), $"revoked device closed after {revokedAfter}");
        Assert.True(changedAfter < TimeSpan.FromSeconds(2), $"changed credentials closed after {changedAfter}");

        // Gone from the broker (its will, if any, was dispatched by then), then the sentinel: no will arrived.
        var server = _hub.Services.GetRequiredService<MqttServer>();
        await Eventually.WaitForAsync(async () => (await server.GetClientsAsync()).Any(c => c.Id == RevokedName), present => !present, "the revoked client to be gone");
        await watcher.SentinelAsync(_hub.Mqtt);
        Assert.False(watcher.Has($"grid/{RevokedName}/status", "will-revoked"));
        await using (var late = await Watcher.StartAsync(_hub.Mqtt))
        {
            await late.SentinelAsync(_hub.Mqtt);
            Assert.DoesNotContain(late.Received, m => m.Topic == $"grid/{RevokedName}/status");
        }

        // Revoked and old credentials are refused over both versions and by mosquitto_pub; the new password works.
        foreach (var version in new[] { MqttProtocolVersion.V311, MqttProtocolVersion.V500 })
        {
            var refused = await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(_hub.Mqtt, RevokedName, version, RevokedName, Passwords[RevokedName], from: Attacker));
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, refused.Code);
            await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => TestMqtt.ConnectAsync(_hub.Mqtt, DeviceB, version, DeviceB, Passwords[DeviceB], from: Attacker));
        }

        var (exit, text) = await Mosquitto.RunAsync("mosquitto_pub", "-h", "127.0.0.1", "-A", Attacker.ToString(), "-p", Port, "-q", "1", "-i", RevokedName, "-u", RevokedName, "-P", Passwords[RevokedName], "-t", $"grid/{RevokedName}/temperature", "-m", "1");
        Assert.True(exit != 0, text);
        using var renewed = await TestMqtt.ConnectAsync(_hub.Mqtt, DeviceB, MqttProtocolVersion.V500, DeviceB, "dev-b-new-password");
        Assert.True((await renewed.PublishAsync($"grid/{DeviceB}/temperature", "20")).IsSuccess);
    }

    public sealed record Party(string Name, string? User, bool Unrestricted)
    {
        /// <summary>Users take "&lt;user&gt;:&lt;suffix&gt;"; anonymous clients anything else.</summary>
        public string ClientId(string suffix) => User is null ? "anon-" + suffix : User + ":" + suffix;

        public override string ToString() => Name;
    }

    public sealed record PublishCase(int Number, Client Client, Party Party, Target Target, bool Retain, string Topic, string Payload)
    {
        public bool Allowed => Retain ? MayRetain(Party, Target) : MayPublish(Party, Target);

        public override string ToString() => $"#{Number} {Party.Name} via {Client} {(Retain ? "retained " : string.Empty)}{Topic}";
    }
}
