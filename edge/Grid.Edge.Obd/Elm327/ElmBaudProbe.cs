using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Obd.Elm327;

/// <summary>Where a rate the probe tries comes from, in the order they are tried.</summary>
public enum BaudRateSource
{
    /// <summary>Given by the person setting up (--baud, Agent:Obd:BaudRate).</summary>
    Configured,

    /// <summary>The rate this device last answered at (<see cref="BaudRateMemory"/>).</summary>
    Remembered,

    /// <summary>One of the rates ELM327 adapters ship with.</summary>
    Standard,
}

public enum BaudProbeOutcome
{
    /// <summary>About to try the rate.</summary>
    Trying,

    /// <summary>An ELM327 answered: the probe ends here.</summary>
    Answered,

    NoAnswer,

    /// <summary>Bytes that are not text came back: the adapter speaks at another rate.</summary>
    Unreadable,

    /// <summary>Text came back, but not from an ELM327.</summary>
    NotAnElm327,

    /// <summary>The serial device cannot be set to this rate (some USB bridges stop below 500000).</summary>
    Refused,
}

/// <summary>One step of the probe, reported before a rate is tried (<see cref="BaudProbeOutcome.Trying"/>) and after.</summary>
/// <param name="Detail">The banner when answered, why not otherwise, empty while trying.</param>
public sealed record BaudProbeStep(int BaudRate, BaudRateSource Source, BaudProbeOutcome Outcome, string Detail);

/// <param name="Client">Contact made (reset, banner read): <see cref="Elm327Client.InitializeAsync"/> goes on from there.</param>
/// <param name="NotRemembered">Why the rate could not be kept for next time (a data folder that refuses writes), or null.</param>
public sealed record SerialProbeResult(Elm327Client Client, int BaudRate, BaudRateSource Source, string Banner, string? NotRemembered);

public sealed class SerialProbeOptions
{
    /// <summary>
    /// The rates ELM327 adapters ship with, most common first: 38400 (genuine ones and most clones), 9600 (genuine ones
    /// with pin 6 low), 115200 (many USB and Bluetooth clones), 230400 and 500000 (fast USB ones).
    /// </summary>
    public static IReadOnlyList<int> StandardRates { get; } = [38400, 9600, 115200, 230400, 500000];

    public IReadOnlyList<int> Rates { get; set; } = StandardRates;

    /// <summary>A rate given by the person setting up: tried first, then the others (a wrong setting is a warning, not an outage).</summary>
    public int? Configured { get; set; }

    /// <summary>Where the last good rate of each device is kept; null to remember nothing.</summary>
    public BaudRateMemory? Memory { get; set; }

    /// <summary>How long the first contact waits at each rate.</summary>
    public Elm327Options Client { get; set; } = new();

    /// <summary>Told before and after each rate (progress for a person watching); called on the probing task.</summary>
    public Action<BaudProbeStep>? Progress { get; set; }

    public string Validate()
    {
        if (Rates.Count == 0 && Configured is null)
            return "no baud rate to try";
        foreach (var rate in Configured is { } configured ? Rates.Prepend(configured) : Rates)
        {
            if (!ElmBaudProbe.IsPlausible(rate))
                return string.Create(CultureInfo.InvariantCulture, $"{rate} is not a serial speed ({ElmBaudProbe.LowestRate}-{ElmBaudProbe.HighestRate})");
        }

        return Client.Validate();
    }
}

/// <summary>
/// Finds the baud rate a serial adapter (USB, or Bluetooth bound to /dev/rfcommN) answers at: the configured rate first,
/// then the one it last answered at, then the standard rates; at each, the first contact (ATZ, the banner) decides.
/// The rate found is remembered per device path, and the client comes back with contact made.
/// </summary>
public static class ElmBaudProbe
{
    public const int LowestRate = 300;
    public const int HighestRate = 4_000_000;

    public static bool IsPlausible(int baudRate) => baudRate is >= LowestRate and <= HighestRate;

    /// <exception cref="ElmException">The device cannot be opened (<see cref="ElmFailure.AdapterUnreachable"/>), or no ELM327
    /// answered at any rate: the failure says whether nothing answered, only unreadable bytes came, or something else answered.</exception>
    public static async Task<SerialProbeResult> ConnectAsync(string path, SerialProbeOptions options, ILogger? logger, CancellationToken cancellationToken)
    {
        var problem = options.Validate();
        if (problem.Length > 0)
            throw new ArgumentException(problem, nameof(options));
        logger ??= NullLogger.Instance;
        var order = new List<(int Rate, BaudRateSource Source)>();
        void Add(int rate, BaudRateSource source)
        {
            if (!order.Exists(o => o.Rate == rate))
                order.Add((rate, source));
        }

        if (options.Configured is { } configured)
            Add(configured, BaudRateSource.Configured);
        if (options.Memory?.Recall(path) is { } remembered)
            Add(remembered, BaudRateSource.Remembered);
        foreach (var rate in options.Rates)
            Add(rate, BaudRateSource.Standard);

        var failures = new List<(int Rate, ElmException Error)>();
        var opened = false;
        foreach (var (rate, source) in order)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SerialElmTransport transport;
            try
            {
                // Opened before anything is reported: a device that is not there is one error, not a rate tried.
                transport = SerialElmTransport.Open(path, rate);
            }
            catch (ElmException e) when (opened && e.Failure == ElmFailure.AdapterUnreachable && File.Exists(path))
            {
                // It opened at other rates: this one its driver refuses.
                Report(options, logger, new BaudProbeStep(rate, source, BaudProbeOutcome.Trying, string.Empty));
                Report(options, logger, new BaudProbeStep(rate, source, BaudProbeOutcome.Refused, e.Message));
                continue;
            }

            opened = true;
            Report(options, logger, new BaudProbeStep(rate, source, BaudProbeOutcome.Trying, string.Empty));
            var client = new Elm327Client(transport, options.Client, logger);
            try
            {
                var banner = await client.ContactAsync(cancellationToken);
                var notRemembered = options.Memory?.Remember(path, rate);
                Report(options, logger, new BaudProbeStep(rate, source, BaudProbeOutcome.Answered, banner));
                logger.LogInformation("{Banner} on {Device} answers at {Rate} baud ({Source})", banner, path, rate, source);
                if (options.Configured is { } given && given != rate)
                    logger.LogWarning("The adapter on {Device} answers at {Rate} baud, not at {Configured} as configured; correct the setting", path, rate, given);
                if (notRemembered is not null)
                    logger.LogWarning("{Rate} baud for {Device} cannot be remembered in {File}: {Error}", rate, path, options.Memory!.FilePath, notRemembered);
                return new SerialProbeResult(client, rate, source, banner, notRemembered);
            }
            catch (ElmException e) when (e.Failure is ElmFailure.NoAnswer or ElmFailure.Unreadable or ElmFailure.NotAnElm327)
            {
                await client.DisposeAsync();
                failures.Add((rate, e));
                var outcome = e.Failure switch
                {
                    ElmFailure.NoAnswer => BaudProbeOutcome.NoAnswer,
                    ElmFailure.Unreadable => BaudProbeOutcome.Unreadable,
                    _ => BaudProbeOutcome.NotAnElm327,
                };
                Report(options, logger, new BaudProbeStep(rate, source, outcome, e.Message));
            }
            catch
            {
                await client.DisposeAsync();
                throw;
            }
        }

        throw Summarise(path, failures.Select(f => f.Rate).ToList(), failures); // refused rates were not tried
    }

    private static void Report(SerialProbeOptions options, ILogger logger, BaudProbeStep step)
    {
        if (step.Outcome != BaudProbeOutcome.Trying)
            logger.LogDebug("{Rate} baud ({Source}): {Outcome} {Detail}", step.BaudRate, step.Source, step.Outcome, step.Detail);
        options.Progress?.Invoke(step);
    }

    /// <summary>The most telling failure over every rate: something that answers in text, then noise, then silence.</summary>
    private static ElmException Summarise(string path, List<int> tried, List<(int Rate, ElmException Error)> failures)
    {
        if (failures.Find(f => f.Error.Failure == ElmFailure.NotAnElm327) is { Error: not null } text)
            return new ElmException(ElmFailure.NotAnElm327, $"{text.Error.Message} (no ELM327 at {List(tried, "or")} baud)");
        var noisy = failures.Where(f => f.Error.Failure == ElmFailure.Unreadable).Select(f => f.Rate).ToList();
        if (noisy.Count > 0)
        {
            return new ElmException(ElmFailure.Unreadable,
                $"only unreadable bytes come back from {path} (at {List(noisy, "and")} baud) and no ELM327 answered at {List(tried, "or")} baud: the adapter is set to another speed (give it explicitly if it is known), or it is not an ELM327");
        }

        return new ElmException(ElmFailure.NoAnswer,
            $"nothing answers on {path} at {List(tried, "or")} baud (no reply to ATZ): check that the adapter is powered (in the OBD socket; some need the ignition on) and that {path} is its device (USB: it appears when plugged in; Bluetooth: paired and bound with rfcomm)");
    }

    private static string List(List<int> rates, string last) =>
        rates.Count == 1 ? rates[0].ToString(CultureInfo.InvariantCulture)
        : string.Join(", ", rates.SkipLast(1).Select(r => r.ToString(CultureInfo.InvariantCulture))) + $" {last} " + rates[^1].ToString(CultureInfo.InvariantCulture);
}
