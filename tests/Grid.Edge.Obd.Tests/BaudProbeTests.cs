using System.Collections.Concurrent;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Obd.Tests;

/// <summary>
/// The baud-rate probe over a pseudo-terminal: the simulated adapter understands only a client that set its own rate
/// (read from the line's termios), and sends back what a UART at the other rate would read of its echo.
/// </summary>
public sealed class BaudProbeTests
{
    // Long enough for a loaded machine to answer at the right rate; each wrong rate costs both.
    private static readonly Elm327Options Waits = new() { ResetWait = TimeSpan.FromSeconds(0.6), ResetRetryWait = TimeSpan.FromSeconds(0.9) };

    // For probes where no answer is awaited in time: nothing, or garbage, or text that takes no wait to tell.
    private static readonly Elm327Options QuickWaits = new() { ResetWait = TimeSpan.FromSeconds(0.3), ResetRetryWait = TimeSpan.FromSeconds(0.3) };

    private static (SerialProbeOptions Options, ConcurrentQueue<BaudProbeStep> Steps) Probe(BaudRateMemory? memory, int? configured = null, Elm327Options? waits = null)
    {
        var steps = new ConcurrentQueue<BaudProbeStep>();
        return (new SerialProbeOptions { Memory = memory, Configured = configured, Client = waits ?? Waits, Progress = steps.Enqueue }, steps);
    }

    private static List<(int Rate, BaudRateSource Source, BaudProbeOutcome Outcome)> Tried(IEnumerable<BaudProbeStep> steps) =>
        steps.Where(s => s.Outcome != BaudProbeOutcome.Trying).Select(s => (s.BaudRate, s.Source, s.Outcome)).ToList();

    private static SimulatedAdapterServer AdapterAt(int baudRate, SimulatedVehicle? vehicle = null) =>
        new(new SimulatedElm327(vehicle ?? new SimulatedVehicle())) { BaudRate = baudRate };

    [Fact]
    public async Task The_probe_finds_the_rate_remembers_it_and_tries_it_first_next_time()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, BaudRateMemory.FileName);
        var server = AdapterAt(115200);
        await using var line = await SimulatedLink.StartAsync(AdapterLink.Serial, server);

        var (options, steps) = Probe(new BaudRateMemory(file));
        await using (var found = (await ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token)).Client)
        {
            Assert.Equal(
                [(38400, BaudRateSource.Standard, BaudProbeOutcome.Unreadable), (9600, BaudRateSource.Standard, BaudProbeOutcome.Unreadable), (115200, BaudRateSource.Standard, BaudProbeOutcome.Answered)],
                Tried(steps));
            Assert.Equal("ELM327 v1.5", steps.Last().Detail);
            Assert.Equal([38400, 9600, 115200], steps.Where(s => s.Outcome == BaudProbeOutcome.Trying).Select(s => s.BaudRate));
            Assert.Equal(115200, new BaudRateMemory(file).Recall(line.SerialPath));

            // The garbage heard at the wrong rates is still in the adapter's line: the client stays in step all the same.
            var info = await found.InitializeAsync(timeout.Token);
            Assert.Equal("ELM327 v1.5", info.Version);
            Assert.Equal("WP0ZZZ99ZTS390000", await found.ReadVinAsync(timeout.Token));
        }

        // Next time (a new process: the file alone remembers), the remembered rate is tried first, and is all it takes.
        (options, steps) = Probe(new BaudRateMemory(file));
        var again = await ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token);
        await using (again.Client)
        {
            Assert.Equal([(115200, BaudRateSource.Remembered, BaudProbeOutcome.Answered)], Tried(steps));
            Assert.Equal((115200, BaudRateSource.Remembered), (again.BaudRate, again.Source));
            Assert.Null(again.NotRemembered);
            Assert.Equal("6", (await again.Client.InitializeAsync(timeout.Token)).ProtocolNumber);
        }

        // A configured rate goes first; when it is wrong, the remembered one still connects. (The last session turned echo
        // off, so at the wrong rate the adapter is silent now: no echo for the client to read as garbage.)
        (options, steps) = Probe(new BaudRateMemory(file), configured: 9600);
        var configured = await ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token);
        await using (configured.Client)
        {
            Assert.Equal(
                [(9600, BaudRateSource.Configured, BaudProbeOutcome.NoAnswer), (115200, BaudRateSource.Remembered, BaudProbeOutcome.Answered)],
                Tried(steps));
            Assert.Equal(115200, configured.BaudRate);
        }

        // The adapter set to another rate (ATPP 0C): the remembered one fails, the new one is found and remembered instead.
        server.BaudRate = 230400;
        (options, steps) = Probe(new BaudRateMemory(file));
        var moved = await ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token);
        await using (moved.Client)
        {
            Assert.Equal([115200, 38400, 9600, 230400], Tried(steps).Select(s => s.Rate));
            Assert.Equal(BaudProbeOutcome.Answered, Tried(steps)[^1].Outcome);
            Assert.Equal(230400, new BaudRateMemory(file).Recall(line.SerialPath));
        }
    }

    [Fact]
    public async Task A_configured_rate_that_answers_is_the_only_one_tried()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using var line = await SimulatedLink.StartAsync(AdapterLink.Serial, AdapterAt(500000));
        var (options, steps) = Probe(memory: null, configured: 500000);
        var found = await ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token);
        await using (found.Client)
        {
            Assert.Equal([(500000, BaudRateSource.Configured, BaudProbeOutcome.Answered)], Tried(steps));
            Assert.Null(found.NotRemembered); // nowhere to remember: not a failure
        }
    }

    [Fact]
    public async Task Nothing_answering_at_any_rate_is_said_plainly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, BaudRateMemory.FileName);
        await using var line = await SimulatedLink.StartAsync(AdapterLink.Serial, server: null);
        var (options, steps) = Probe(new BaudRateMemory(file), waits: QuickWaits);
        var error = await Assert.ThrowsAsync<ElmException>(() => ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token));
        Assert.Equal(ElmFailure.NoAnswer, error.Failure);
        Assert.Equal($"nothing answers on {line.SerialPath} at 38400, 9600, 115200, 230400 or 500000 baud (no reply to ATZ): check that the adapter is powered (in the OBD socket; some need the ignition on) and that {line.SerialPath} is its device (USB: it appears when plugged in; Bluetooth: paired and bound with rfcomm)", error.Message);
        Assert.All(Tried(steps), s => Assert.Equal(BaudProbeOutcome.NoAnswer, s.Outcome));
        Assert.Equal(5, Tried(steps).Count);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task Only_unreadable_bytes_at_every_rate_point_at_the_baud_rate()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using var line = await SimulatedLink.StartAsync(AdapterLink.Serial, AdapterAt(57600)); // a rate none of the standard ones is
        var (options, steps) = Probe(memory: null, waits: QuickWaits);
        var error = await Assert.ThrowsAsync<ElmException>(() => ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token));
        Assert.Equal(ElmFailure.Unreadable, error.Failure);
        Assert.Contains("only unreadable bytes come back from", error.Message, StringComparison.Ordinal);
        Assert.Contains("(at 38400, 9600, 115200, 230400 and 500000 baud)", error.Message, StringComparison.Ordinal);
        Assert.Contains("the adapter is set to another speed (give it explicitly if it is known)", error.Message, StringComparison.Ordinal);
        Assert.All(Tried(steps), s => Assert.Equal(BaudProbeOutcome.Unreadable, s.Outcome));
    }

    [Fact]
    public async Task Something_else_on_the_line_is_named_with_what_it_said()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var server = AdapterAt(9600);
        server.Adapter.NotAnElm327 = true;
        await using var line = await SimulatedLink.StartAsync(AdapterLink.Serial, server);
        var (options, _) = Probe(memory: null, waits: QuickWaits);
        var error = await Assert.ThrowsAsync<ElmException>(() => ElmBaudProbe.ConnectAsync(line.SerialPath, options, null, timeout.Token));
        Assert.Equal(ElmFailure.NotAnElm327, error.Failure);
        Assert.StartsWith($"the device on {line.SerialPath} at 9600 baud answers but does not identify as an ELM327 (to ATZ and ATI it said 'ATZ | OK", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_device_is_one_error_and_no_rate_tried()
    {
        var (options, steps) = Probe(memory: null);
        var error = await Assert.ThrowsAsync<ElmException>(() => ElmBaudProbe.ConnectAsync("/dev/ttyUSB-missing-adapter", options, null, CancellationToken.None));
        Assert.Equal(ElmFailure.AdapterUnreachable, error.Failure);
        Assert.Empty(steps);
    }
}
