using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grid.Edge.Obd.Frames;
using Grid.Edge.Obd.Pids;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Obd.Elm327;

/// <summary>
/// Talks to an ELM327 (genuine or clone) one command at a time: every command waits for the '>' prompt before the
/// next is sent (a character sent early aborts the adapter with STOPPED), answers are read whole however they are
/// split in time, NUL bytes and echo are removed, and adapter text is classified, never trusted as data.
/// </summary>
public sealed class Elm327Client : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan SearchTimeout = TimeSpan.FromSeconds(20);

    // An answer is a few hundred bytes (a VIN, several ECUs); this much text without a prompt is not an adapter answering.
    private const int MostUnpromptedChars = 32 * 1024;

    private readonly IElmTransport _transport;
    private readonly Elm327Options _options;
    private readonly ILogger _logger;
    private readonly StringBuilder _received = new();
    private readonly byte[] _readBuffer = new byte[512];
    private HeaderFormat _format = HeaderFormat.None;
    private ContactTranscript? _transcript;
    private string? _freshBanner;

    public Elm327Client(IElmTransport transport, Elm327Options? options = null, ILogger? logger = null)
    {
        _options = options ?? new Elm327Options();
        var problem = _options.Validate();
        if (problem.Length > 0)
            throw new ArgumentException(problem, nameof(options));
        _transport = transport;
        _logger = logger ?? NullLogger.Instance;
    }

    public ElmAdapterInfo? Adapter { get; private set; }

    /// <summary>Protocol number from ATDPN without the leading 'A' ("6" = CAN 11 bit 500 kbaud).</summary>
    public string Protocol { get; private set; } = "0";

    public string TransportDescription => _transport.Description;

    /// <summary>
    /// The first contact: resets the adapter (ATZ) and returns its banner ("ELM327 v1.5"). Nothing is sent before ATZ,
    /// because what adapters do with an empty or nonsense line varies (a genuine one answers '?' and a prompt, some clones
    /// echo it and print nothing, a bare CR repeats the last command); contact depends on none of it. The banner counts
    /// wherever it stands: after the echo, NUL bytes or line noise, after a '?' left by a half-typed line, with the prompt
    /// after it or (once the wait is over) without. ATZ goes out twice at most; then ATI, if the device answered with
    /// prompts but no banner.
    /// </summary>
    /// <exception cref="ElmException">Nothing answers (<see cref="ElmFailure.NoAnswer"/>), only unreadable bytes come back
    /// (<see cref="ElmFailure.Unreadable"/>: another baud rate), or the device is not an ELM327 (<see cref="ElmFailure.NotAnElm327"/>).</exception>
    public async Task<string> ContactAsync(CancellationToken cancellationToken)
    {
        _freshBanner = null;
        _received.Clear();
        var transcript = new ContactTranscript();
        _transcript = transcript;
        string Contact(string banner)
        {
            _received.Clear();
            _freshBanner = banner;
            return banner;
        }

        try
        {
            var prompts = 0;
            var answerDue = false;
            for (var attempt = 1; attempt <= 2; attempt++)
            {
                await WriteAsync("ATZ\r", cancellationToken);
                var deadline = Stopwatch.GetTimestamp() + (long)((attempt == 1 ? _options.ResetWait : _options.ResetRetryWait).TotalSeconds * Stopwatch.Frequency);
                var heard = false;
                while (await TryReadUntilPromptAsync(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline), cancellationToken) is { } answer)
                {
                    prompts++;
                    heard = true;
                    if (ContactTranscript.FindBanner(answer) is { } banner)
                    {
                        if (answerDue)
                        {
                            // The first ATZ went unanswered in its time, so one answer may still be on its way (the first was
                            // only slow, and this banner was its); it is read here rather than taken for the next command's.
                            await TryReadUntilPromptAsync(_options.ResetWait, cancellationToken);
                        }

                        return Contact(banner);
                    }

                    // A prompt without a banner answered something before the reset (a half-typed line, an interrupted
                    // command): the adapter is ready, so the first reset is sent again at once; the second waits its time.
                    if (attempt == 1)
                        break;
                }

                // Some clones end the reset's answer with an empty line and no prompt: a banner counts without one.
                if (ContactTranscript.FindBanner(_received.ToString()) is { } unprompted)
                    return Contact(unprompted);

                answerDue = !heard;
                if (!heard && attempt == 1)
                    _logger.LogDebug("No answer to ATZ from {Transport} yet; resetting it again", _transport.Description);
            }

            if (prompts > 0)
            {
                // It speaks with prompts but printed no banner to the reset: the identity command says what it is.
                await WriteAsync("ATI\r", cancellationToken);
                if (await TryReadUntilPromptAsync(CommandTimeout, cancellationToken) is { } identity && ContactTranscript.FindBanner(identity) is { } banner)
                    return Contact(banner);
            }

            _received.Clear();
            throw transcript.Failure(_transport.Description, _options.ResetWait + _options.ResetRetryWait, askedIdentity: prompts > 0);
        }
        finally
        {
            _transcript = null;
        }
    }

    /// <summary>
    /// Resets and configures the adapter, then finds the vehicle's protocol. A first contact made just before (by the
    /// baud-rate probe) is not repeated.
    /// </summary>
    /// <exception cref="ElmException">The adapter does not answer, is not an ELM327, stops answering, or no vehicle answers.</exception>
    public async Task<ElmAdapterInfo> InitializeAsync(CancellationToken cancellationToken)
    {
        var version = _freshBanner ?? await ContactAsync(cancellationToken);
        _freshBanner = null;

        // A reset answered late leaves its banner behind now and then, and a banner taken without its prompt (at the end of
        // the wait) may see the prompt come after all: either is skipped, not taken for ATE0's answer, which is never empty.
        var echoOff = await SendAsync("ATE0", CommandTimeout, cancellationToken);
        for (var stale = 0; stale < 2 && !IsOk(echoOff) && (echoOff.Lines.Count == 0 || ContactTranscript.FindBanner(string.Join('\r', echoOff.Lines)) is not null); stale++)
            echoOff = await ReadAnswerAsync("ATE0", CommandTimeout, cancellationToken);
        if (!IsOk(echoOff))
            throw new ElmException(ElmFailure.NotAnElm327, $"the adapter did not accept ATE0 (answered '{string.Join(" | ", echoOff.Lines)}'); it is not ELM327-compatible");

        await ExpectOkAsync("ATL0", cancellationToken);
        await ExpectOkAsync("ATS0", cancellationToken);
        var headersOn = await ExpectOkAsync("ATH1", cancellationToken);
        if (!headersOn)
            _logger.LogWarning("The adapter refused ATH1 (headers on); answers of several ECUs cannot be told apart");
        await ExpectOkAsync("ATAT1", cancellationToken);
        var voltage = await ReadBatteryVoltageAsync(cancellationToken);
        await ExpectOkAsync("ATSP0", cancellationToken);

        var connected = await ProbeVehicleAsync(headersOn, cancellationToken);
        if (!connected.Ok)
        {
            foreach (var protocol in ObdProtocols.FallbackOrder)
            {
                if (!(await SendAsync("ATTP" + protocol, CommandTimeout, cancellationToken)).IsOk)
                    continue;
                connected = await ProbeVehicleAsync(headersOn, cancellationToken);
                if (connected.Ok)
                    break;
            }
        }

        if (!connected.Ok)
        {
            var volts = voltage is { } v ? string.Create(CultureInfo.InvariantCulture, $" (the adapter reads {v:0.0} V at the socket{(v < 6 ? ": it is not powered by a vehicle" : string.Empty)})") : string.Empty;
            throw new ElmException(ElmFailure.VehicleNotResponding, $"the vehicle does not answer: {Describe(connected.Status)}{volts}. Turn the ignition on and check the adapter sits fully in the OBD socket.");
        }

        var name = ObdProtocols.Name(Protocol);
        Adapter = new ElmAdapterInfo(version.Trim(), Protocol, name, headersOn, voltage);
        _logger.LogInformation("Adapter {Version} on {Transport}: vehicle protocol {Protocol} ({Name})", Adapter.Version, _transport.Description, Protocol, name);
        return Adapter;
    }

    /// <summary>Sends one command and reads its whole answer, classified and (for OBD requests) parsed into messages.</summary>
    public async Task<ElmResponse> SendAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await WriteAsync(command + "\r", cancellationToken);
        return await ReadAnswerAsync(command, timeout, cancellationToken);
    }

    /// <summary>Reads the answer to a command already sent, up to the next prompt.</summary>
    private async Task<ElmResponse> ReadAnswerAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var text = await ReadUntilPromptAsync(timeout, cancellationToken);
        var lines = new List<string>();
        foreach (var piece in text.Split(['\r', '\n'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (string.Equals(piece.Replace(" ", string.Empty, StringComparison.Ordinal), command.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))
                continue; // echo
            if (piece.StartsWith('<') && lines.Count > 0 && FrameParser.IsHexLine(lines[^1]))
                lines.RemoveAt(lines.Count - 1); // "<DATA ERROR" marks the line before it as damaged
            lines.Add(piece);
        }

        var status = ElmResponse.Classify(lines);
        var isObdRequest = command.Length >= 2 && !command.StartsWith("AT", StringComparison.OrdinalIgnoreCase);
        var messages = isObdRequest ? FrameParser.Parse(lines.Where(FrameParser.IsHexLine), _format) : [];
        if (isObdRequest && status == ElmStatus.Ok && messages.Count == 0)
            status = ElmStatus.NoData;
        return new ElmResponse(command, lines, status, messages);
    }

    /// <summary>An OBD request, retried once when the answer was damaged or interrupted.</summary>
    public async Task<ElmResponse> QueryAsync(string request, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var response = await SendAsync(request, timeout ?? CommandTimeout, cancellationToken);
        if (response.Status is ElmStatus.DataError or ElmStatus.Stopped)
            response = await SendAsync(request, timeout ?? CommandTimeout, cancellationToken);
        if (response.Status == ElmStatus.AdapterReset)
            throw new ElmException(ElmFailure.AdapterLost, $"the adapter reset itself ({string.Join(" ", response.Lines)}); it must be initialised again");
        return response;
    }

    /// <summary>Walks the supported-PID bitmasks 00, 20, 40, ... while each says the next one exists; the union over all ECUs.</summary>
    public async Task<SortedSet<int>> ReadSupportedPidsAsync(CancellationToken cancellationToken)
    {
        var supported = new SortedSet<int>();
        foreach (var basePid in SupportedPids.BitmaskPids)
        {
            var response = await QueryAsync(string.Create(CultureInfo.InvariantCulture, $"01{basePid:X2}"), cancellationToken);
            var more = false;
            foreach (var message in response.Positive(0x01, basePid))
                more |= SupportedPids.Decode(message.Payload, basePid, supported);
            if (!more)
                break;
        }

        return supported;
    }

    /// <summary>Reads a service 01 PID; one value per ECU that answered.</summary>
    public async Task<IReadOnlyList<(string Ecu, double Value)>> ReadPidAsync(int pid, CancellationToken cancellationToken)
    {
        var response = await QueryAsync(string.Create(CultureInfo.InvariantCulture, $"01{pid:X2}"), cancellationToken);
        var values = new List<(string, double)>();
        foreach (var message in response.Positive(0x01, pid))
        {
            if (PidTable.TryDecode(pid, message.Payload, out var value))
                values.Add((message.Ecu, value));
        }

        return values;
    }

    /// <summary>Reads a state PID (02, 03, 1C, 51) and describes it in words; null when nothing answered.</summary>
    public async Task<string?> DescribePidAsync(int pid, CancellationToken cancellationToken)
    {
        var response = await QueryAsync(string.Create(CultureInfo.InvariantCulture, $"01{pid:X2}"), cancellationToken);
        return response.Positive(0x01, pid).Select(m => EnumeratedPids.Describe(pid, m.Payload)).FirstOrDefault(d => d is not null);
    }

    public async Task<MonitorStatus?> ReadMonitorStatusAsync(CancellationToken cancellationToken)
    {
        var response = await QueryAsync("0101", cancellationToken);
        foreach (var message in response.Positive(0x01, 0x01))
        {
            if (MonitorStatus.TryDecode(message.Payload, out var status))
                return status;
        }

        return null;
    }

    /// <summary>Trouble codes of service 03 (stored), 07 (pending) or 0A (permanent), from every ECU, without duplicates.</summary>
    public async Task<IReadOnlyList<TroubleCode>> ReadTroubleCodesAsync(int service, CancellationToken cancellationToken)
    {
        if (service is not (0x03 or 0x07 or 0x0A))
            throw new ArgumentOutOfRangeException(nameof(service), "trouble codes come from services 03, 07 and 0A");
        var response = await QueryAsync(service.ToString("X2", CultureInfo.InvariantCulture), cancellationToken);
        var hasCount = ObdProtocols.IsCan(Protocol);
        return response.Positive(service).SelectMany(m => TroubleCode.Decode(m.Payload, hasCount)).Distinct().ToList();
    }

    /// <summary>The vehicle identification number, or null when no ECU gives a valid one.</summary>
    public async Task<string?> ReadVinAsync(CancellationToken cancellationToken)
    {
        var response = await QueryAsync("0902", cancellationToken, TimeSpan.FromSeconds(5));
        foreach (var ecu in response.Positive(0x09, 0x02).GroupBy(m => m.Ecu))
        {
            if (VehicleIdentification.Decode(ecu.Select(m => m.Payload).ToList()) is { } vin)
                return vin;
        }

        return null;
    }

    /// <summary>Battery voltage at OBD pin 16 (ATRV), or null when the adapter does not say.</summary>
    public async Task<double?> ReadBatteryVoltageAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync("ATRV", CommandTimeout, cancellationToken);
        foreach (var line in response.Lines)
        {
            var text = line.Trim().TrimEnd('V', 'v');
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var volts) && volts is >= 0 and < 100)
                return volts;
        }

        return null;
    }

    /// <summary>
    /// Service 04: clears stored and pending codes, freeze frames and readiness, and turns the MIL off. Only ever
    /// called on a person's explicit request. Returns null on success, else why the vehicle refused.
    /// </summary>
    public async Task<string?> ClearTroubleCodesAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync("04", TimeSpan.FromSeconds(5), cancellationToken);
        if (response.Positive(0x04).Any())
            return null;
        var negative = response.Messages.FirstOrDefault(m => m.IsNegative);
        return negative is not null
            ? negative.NegativeResponseCode == 0x22 ? "the vehicle refused: conditions not correct (switch the engine off, ignition on)" : $"the vehicle refused (negative response 0x{negative.NegativeResponseCode:X2})"
            : "no answer: " + Describe(response.Status);
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    private async Task<(bool Ok, ElmStatus Status)> ProbeVehicleAsync(bool headersOn, CancellationToken cancellationToken)
    {
        // Until the protocol is known, read headers as CAN 11-bit if they are on: the first probe is only checked for a 41 00 answer.
        var probeNumber = await ReadProtocolNumberAsync(cancellationToken);
        _format = ObdProtocols.HeaderFormat(probeNumber, headersOn);
        var response = await QueryAsync("0100", cancellationToken, SearchTimeout);
        Protocol = await ReadProtocolNumberAsync(cancellationToken);
        _format = ObdProtocols.HeaderFormat(Protocol, headersOn);
        if (response.Status != ElmStatus.Ok || Protocol == "0")
            return (false, response.Status);
        // Parse again with the protocol now known (legacy headers differ from CAN).
        var messages = FrameParser.Parse(response.Lines.Where(FrameParser.IsHexLine), _format);
        return (messages.Any(m => m.Payload.Length >= 2 && m.Payload[0] == 0x41 && m.Payload[1] == 0x00), response.Status);
    }

    private async Task<string> ReadProtocolNumberAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync("ATDPN", CommandTimeout, cancellationToken);
        var line = response.Lines.FirstOrDefault(l => l.Length is 1 or 2)?.Trim().ToUpperInvariant() ?? "0";
        return line.Length == 2 && line[0] == 'A' ? line[1..] : line;
    }

    /// <summary>A setting the client can do without: refused ones are logged and left.</summary>
    private async Task<bool> ExpectOkAsync(string command, CancellationToken cancellationToken)
    {
        var response = await SendAsync(command, CommandTimeout, cancellationToken);
        var ok = IsOk(response);
        if (!ok)
            _logger.LogInformation("The adapter did not accept {Command} ('{Answer}'); continuing without it", command, string.Join(" | ", response.Lines));
        return ok;
    }

    private static bool IsOk(ElmResponse response) => response.Lines.Any(l => l.Trim().Equals("OK", StringComparison.OrdinalIgnoreCase));

    private Task WriteAsync(string text, CancellationToken cancellationToken) =>
        _transport.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

    /// <summary>Reads until the '>' prompt; what follows the prompt (there should be nothing) is kept for the next read.</summary>
    private async Task<string> ReadUntilPromptAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await TryReadUntilPromptAsync(timeout, cancellationToken) is { } text)
            return text;
        _received.Clear();
        throw new ElmException(ElmFailure.AdapterLost, $"the adapter on {_transport.Description} stopped answering (no '>' within {timeout.TotalSeconds:0.#} s)");
    }

    /// <summary>Reads until the '>' prompt, or null when none came within <paramref name="timeout"/> (what did come is kept).</summary>
    private async Task<string?> TryReadUntilPromptAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero)
            return TakeAnswer();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            if (TakeAnswer() is { } answer)
                return answer;
            if (_received.Length > MostUnpromptedChars)
            {
                _received.Clear();
                throw new ElmException(ElmFailure.NotAnElm327, $"the device on {_transport.Description} sends text without end and no '>' prompt; it is not an ELM327 answering");
            }

            int read;
            try
            {
                read = await _transport.ReadAsync(_readBuffer, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            catch (IOException e)
            {
                throw new ElmException(ElmFailure.AdapterLost, $"the link to the adapter on {_transport.Description} failed: {e.Message}");
            }

            if (read == 0)
                throw new ElmException(ElmFailure.AdapterLost, $"the adapter on {_transport.Description} closed the connection (unplugged or out of range?)");
            _transcript?.Add(_readBuffer.AsSpan(0, read));
            for (var i = 0; i < read; i++)
            {
                // Some adapters send NUL bytes (before the banner, between lines): never part of an answer.
                if (_readBuffer[i] != 0)
                    _received.Append((char)_readBuffer[i]);
            }
        }
    }

    /// <summary>The text before the first prompt, removed from what was received; null when no prompt came yet.</summary>
    private string? TakeAnswer()
    {
        var prompt = _received.ToString().IndexOf('>', StringComparison.Ordinal);
        if (prompt < 0)
            return null;
        var text = _received.ToString(0, prompt);
        _received.Remove(0, prompt + 1);
        return text;
    }

    private static string Describe(ElmStatus status) => status switch
    {
        ElmStatus.NoData => "NO DATA (nothing answered)",
        ElmStatus.UnableToConnect => "UNABLE TO CONNECT (no OBD protocol answered; the ignition is probably off)",
        ElmStatus.BusError => "a bus error (CAN ERROR / BUS ERROR: wrong protocol or wiring)",
        ElmStatus.DataError => "damaged answers (DATA ERROR)",
        ElmStatus.Stopped => "STOPPED (interrupted)",
        ElmStatus.Unknown => "'?' (command not understood)",
        ElmStatus.AdapterReset => "the adapter reset itself",
        _ => "no usable answer",
    };
}
