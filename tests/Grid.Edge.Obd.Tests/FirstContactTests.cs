using System.Text;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Obd.Tests;

/// <summary>
/// The first contact (ATZ and the banner) and all that follows it, against the simulated adapter in every mode it has,
/// over TCP and over a pseudo-terminal; and a clear failure for each way the first contact can go wrong.
/// </summary>
public sealed class FirstContactTests
{
    // The slow adapter below answers after the first wait and well within the second.
    private static readonly Elm327Options Waits = new() { ResetWait = TimeSpan.FromSeconds(1), ResetRetryWait = TimeSpan.FromSeconds(3) };
    private static readonly Elm327Options QuickWaits = new() { ResetWait = TimeSpan.FromSeconds(0.5), ResetRetryWait = TimeSpan.FromSeconds(1) };

    private static readonly string[] Modes =
    [
        "genuine",
        "answers in pieces",
        "NUL bytes",
        "line noise before the banner",
        "no prompt for an empty line",
        "no prompt after the banner",
        "loses the first line",
        "slow to wake",
        "refuses optional settings",
        "duplicate frames and two ECUs",
        "every quirk at once",
    ];

    public static TheoryData<AdapterLink, string> EveryMode()
    {
        var data = new TheoryData<AdapterLink, string>();
        foreach (var link in Enum.GetValues<AdapterLink>())
        {
            foreach (var mode in Modes)
                data.Add(link, mode);
        }

        return data;
    }

    public static TheoryData<AdapterLink, ElmFailure> EveryFailure()
    {
        var data = new TheoryData<AdapterLink, ElmFailure>();
        foreach (var link in Enum.GetValues<AdapterLink>())
        {
            foreach (var failure in new[] { ElmFailure.NoAnswer, ElmFailure.NotAnElm327, ElmFailure.Unreadable })
                data.Add(link, failure);
        }

        return data;
    }

    private static void Configure(string mode, SimulatedAdapterServer server)
    {
        var adapter = server.Adapter;
        switch (mode)
        {
            case "genuine":
                break;
            case "answers in pieces":
                server.AnswerInPieces = true;
                break;
            case "NUL bytes":
                adapter.SendsNulBytes = true;
                break;
            case "line noise before the banner":
                adapter.NoiseBeforeBanner = true;
                break;
            case "no prompt for an empty line":
                adapter.NoPromptForEmptyLine = true;
                break;
            case "no prompt after the banner":
                adapter.NoPromptAfterBanner = true;
                break;
            case "loses the first line":
                adapter.LostLines = 1;
                break;
            case "slow to wake":
                server.FirstAnswerDelay = TimeSpan.FromSeconds(1.5);
                break;
            case "refuses optional settings":
                adapter.UnsupportedAtCommands.UnionWith(["ATH1", "ATS0", "ATL0", "ATAT1"]);
                break;
            case "duplicate frames and two ECUs":
                adapter.DuplicateFrames = true;
                adapter.SecondEcu = true;
                break;
            case "every quirk at once":
                server.AnswerInPieces = true;
                adapter.SendsNulBytes = true;
                adapter.NoiseBeforeBanner = true;
                adapter.NoPromptForEmptyLine = true;
                adapter.NoPromptAfterBanner = true;
                adapter.LostLines = 1;
                adapter.DuplicateFrames = true;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "no such mode");
        }
    }

    [Theory]
    [MemberData(nameof(EveryMode))]
    public async Task The_client_initialises_and_reads_in_every_adapter_mode(AdapterLink link, string mode)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var vehicle = new SimulatedVehicle();
        vehicle.Set(0x0D, 88);
        var server = new SimulatedAdapterServer(new SimulatedElm327(vehicle));
        Configure(mode, server);
        await using var simulated = await SimulatedLink.StartAsync(link, server);
        await using var client = new Elm327Client(await simulated.OpenAsync(), Waits);

        var info = await client.InitializeAsync(timeout.Token);
        Assert.Equal("ELM327 v1.5", info.Version);
        Assert.Equal("6", info.ProtocolNumber);
        var speeds = await client.ReadPidAsync(0x0D, timeout.Token);
        Assert.NotEmpty(speeds);
        Assert.All(speeds, s => Assert.Equal(88, s.Value));
        Assert.Equal("WP0ZZZ99ZTS390000", await client.ReadVinAsync(timeout.Token));

        // Initialised again (as after the ignition was off), the client is still in step with the adapter.
        Assert.Equal("ELM327 v1.5", (await client.InitializeAsync(timeout.Token)).Version);
        vehicle.Set(0x0D, 61);
        Assert.All(await client.ReadPidAsync(0x0D, timeout.Token), s => Assert.Equal(61, s.Value));
    }

    [Theory]
    [MemberData(nameof(EveryFailure))]
    public async Task Each_way_the_first_contact_fails_is_named(AdapterLink link, ElmFailure failure)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var adapter = new SimulatedElm327(new SimulatedVehicle());
        var server = new SimulatedAdapterServer(adapter);
        switch (failure)
        {
            case ElmFailure.NoAnswer:
                adapter.LostLines = int.MaxValue;
                break;
            case ElmFailure.NotAnElm327:
                adapter.NotAnElm327 = true;
                break;
            default:
                // An adapter at 115200 baud, the client at 38400: over the pseudo-terminal from the speed the client sets.
                server.BaudRate = 115200;
                if (link == AdapterLink.Tcp)
                    server.LineSpeed = () => 38400;
                break;
        }

        await using var simulated = await SimulatedLink.StartAsync(link, server);
        await using var client = new Elm327Client(await simulated.OpenAsync(38400), QuickWaits);
        var error = await Assert.ThrowsAsync<ElmException>(() => client.InitializeAsync(timeout.Token));
        Assert.Equal(failure, error.Failure);
        switch (failure)
        {
            case ElmFailure.NoAnswer:
                Assert.Contains("nothing answers on", error.Message, StringComparison.Ordinal);
                Assert.Contains("no reply to ATZ, sent twice (1.5 s in all)", error.Message, StringComparison.Ordinal);
                Assert.Equal(2, adapter.Commands); // two resets, and nothing else sent to a silent device
                break;
            case ElmFailure.NotAnElm327:
                Assert.Contains("does not identify as an ELM327 (to ATZ and ATI it said 'ATZ | OK | ATZ | OK | ATI | OK')", error.Message, StringComparison.Ordinal);
                break;
            default:
                Assert.Contains("only unreadable bytes come back", error.Message, StringComparison.Ordinal);
                Assert.Contains("the baud rate is probably not the adapter's", error.Message, StringComparison.Ordinal);
                Assert.Equal(0, adapter.Commands); // at the wrong speed no command ever arrives whole
                break;
        }
    }

    [Theory]
    [InlineData("ATZ\r\r\rELM327 v1.5\r\r")]
    [InlineData("\u007F\u007F\rATZ\r\r\rELM327 v1.5\r\r")]
    [InlineData("ATZ\r\u00FC\u0080\u00F8\u00FE\r\rELM327 v1.5\r\r")]
    [InlineData("\u00FC\u0080ELM327 v1.5\u00FE\r")]
    [InlineData("?\r\rELM327 v1.5")]
    [InlineData("\u00E0\u008E\u001C ?\r\r\rELM327 v1.5  \r")]
    [InlineData("ATZ\r\rELM327 v1.5\r\r")]
    public void The_banner_is_found_wherever_it_stands_in_the_answer(string answer) =>
        Assert.Equal("ELM327 v1.5", ContactTranscript.FindBanner(answer));

    [Theory]
    [InlineData("ATZ\r\rOK\r")]
    [InlineData("?\r\r")]
    [InlineData("")]
    public void An_answer_without_a_banner_has_none(string answer) => Assert.Null(ContactTranscript.FindBanner(answer));

    [Fact]
    public void What_came_back_is_quoted_short_as_text_or_as_bytes()
    {
        var text = new ContactTranscript();
        text.Add(Encoding.ASCII.GetBytes("ATZ\r\rOK\r\r>ATI\r\r" + new string('x', 100) + "\r\r>"));
        Assert.False(text.IsNoise);
        Assert.Equal("ATZ | OK | ATI | " + new string('x', 43) + "...", text.Quote());

        var noise = new ContactTranscript();
        noise.Add([0x61, 0xF8, 0x7A, 0x09, 0x61, 0xF8, 0x7A, 0x09, 0x00, 0x00, 0x0F, 0xFC, 0xF8, 0x00]);
        Assert.True(noise.IsNoise);
        Assert.Equal("61 F8 7A 09 61 F8 7A 09 00 00 0F FC ..., 14 bytes", noise.Quote());

        // A few stray bytes around text do not make it noise.
        var mostlyText = new ContactTranscript();
        mostlyText.Add([0x00, .. Encoding.ASCII.GetBytes("OK\r\r>OK\r\r>")]);
        Assert.False(mostlyText.IsNoise);
    }
}
