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

    private readonly IElmTransport _transport;
    private readonly ILogger _logger;
    private readonly StringBuilder _received = new();
    private readonly byte[] _readBuffer = new byte[512];
    private HeaderFormat _format = HeaderFormat.None;

    public Elm327Client(IElmTransport transport, ILogger? logger = null)
    {
        _transport = transport;
        _logger = logger ?? NullLogger.Instance;
    }

    public ElmAdapterInfo? Adapter { get; private set; }

    /// <summary>Protocol number from ATDPN without the leading 'A' ("6" = CAN 11 bit 500 kbaud).</summary>
    public string Protocol { get; private set; } = "0";

    public string TransportDescription => _transport.Description;

    /// <summary>Resets and configures the adapter, then finds the vehicle's protocol.</summary>
    /// <exception cref="ElmException">The adapter is not an ELM327, stops answering, or no vehicle answers.</exception>
    public async Task<ElmAdapterInfo> InitializeAsync(CancellationToken cancellationToken)
    {
        // Wake the adapter and discard whatever it had buffered. 0x7F, not an empty line: a bare CR repeats the last command.
        // Twice: clones that were just powered (or a Bluetooth link just bound) often lose the first bytes.
        for (var attempt = 1; ; attempt++)
        {
            await WriteAsync("\x7F\x7F\r", cancellationToken);
            try
            {
                await ReadUntilPromptAsync(TimeSpan.FromSeconds(2 * attempt), cancellationToken);
                break;
            }
            catch (ElmException) when (attempt == 1)
            {
                _logger.LogDebug("No prompt from {Transport} yet; waking it again", _transport.Description);
            }
            catch (ElmException)
            {
                throw new ElmException(ElmFailure.NotAnElm327, $"nothing answering like an ELM327 on {_transport.Description} (no '>' prompt); check the baud rate or the address");
            }
        }

        // A second wake-up (sent because the first answer was slow) leaves its own '?' and prompt behind; answering ATZ
        // always says something more, so such a leftover is skipped rather than taken for the reset's answer.
        var reset = await SendAsync("ATZ", TimeSpan.FromSeconds(5), cancellationToken);
        for (var leftovers = 0; leftovers < 2 && reset.Lines.All(line => line == "?"); leftovers++)
            reset = await ReadAnswerAsync("ATZ", TimeSpan.FromSeconds(5), cancellationToken);
        var version = reset.Lines.FirstOrDefault(l => l.Contains("ELM", StringComparison.OrdinalIgnoreCase));
        if (version is null)
        {
            var identify = await SendAsync("ATI", CommandTimeout, cancellationToken);
            version = identify.Lines.FirstOrDefault(l => l.Contains("ELM", StringComparison.OrdinalIgnoreCase))
                ?? throw new ElmException(ElmFailure.NotAnElm327, $"the device on {_transport.Description} does not identify as an ELM327 (answered '{string.Join(" | ", reset.Lines.Concat(identify.Lines))}')");
        }

        await ExpectOkAsync("ATE0", required: true, cancellationToken);
        await ExpectOkAsync("ATL0", required: false, cancellationToken);
        await ExpectOkAsync("ATS0", required: false, cancellationToken);
        var headersOn = await ExpectOkAsync("ATH1", required: false, cancellationToken);
        if (!headersOn)
            _logger.LogWarning("The adapter refused ATH1 (headers on); answers of several ECUs cannot be told apart");
        await ExpectOkAsync("ATAT1", required: false, cancellationToken);
        var voltage = await ReadBatteryVoltageAsync(cancellationToken);
        await ExpectOkAsync("ATSP0", required: false, cancellationToken);

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

    private async Task<bool> ExpectOkAsync(string command, bool required, CancellationToken cancellationToken)
    {
        var response = await SendAsync(command, CommandTimeout, cancellationToken);
        var ok = response.Lines.Any(l => l.Trim().Equals("OK", StringComparison.OrdinalIgnoreCase));
        if (!ok && required)
            throw new ElmException(ElmFailure.NotAnElm327, $"the adapter did not accept {command} (answered '{string.Join(" | ", response.Lines)}'); it is not ELM327-compatible");
        if (!ok)
            _logger.LogInformation("The adapter did not accept {Command} ('{Answer}'); continuing without it", command, string.Join(" | ", response.Lines));
        return ok;
    }

    private Task WriteAsync(string text, CancellationToken cancellationToken) =>
        _transport.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

    /// <summary>Reads until the '>' prompt; what follows the prompt (there should be nothing) is kept for the next read.</summary>
    private async Task<string> ReadUntilPromptAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var prompt = _received.ToString().IndexOf('>', StringComparison.Ordinal);
            if (prompt >= 0)
            {
                var text = _received.ToString(0, prompt);
                _received.Remove(0, prompt + 1);
                return text;
            }

            int read;
            try
            {
                read = await _transport.ReadAsync(_readBuffer, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _received.Clear();
                throw new ElmException(ElmFailure.AdapterLost, $"the adapter on {_transport.Description} stopped answering (no '>' within {timeout.TotalSeconds:0.#} s)");
            }
            catch (IOException e)
            {
                throw new ElmException(ElmFailure.AdapterLost, $"the link to the adapter on {_transport.Description} failed: {e.Message}");
            }

            if (read == 0)
                throw new ElmException(ElmFailure.AdapterLost, $"the adapter on {_transport.Description} closed the connection (unplugged or out of range?)");
            for (var i = 0; i < read; i++)
            {
                // Some adapters send NUL bytes (before the banner, between lines): never part of an answer.
                if (_readBuffer[i] != 0)
                    _received.Append((char)_readBuffer[i]);
            }
        }
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
