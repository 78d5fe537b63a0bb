using System.Globalization;
using System.Text;
using Grid.Edge.Obd.Pids;

namespace Grid.Edge.Simulation.Obd;

/// <summary>
/// An ELM327 as it behaves on the wire: echo on after reset, prompt '>', AT commands, automatic protocol search
/// ("SEARCHING..." / "BUS INIT: ...OK"), headers and spaces on or off, ISO-TP multi-frame answers, several ECUs,
/// legacy frames with checksums, and the failures and clone quirks the agent must survive. Used by the tests and
/// by the hub's demo mode; it serves any byte stream (a TCP connection or a pseudo-terminal).
/// </summary>
public sealed class SimulatedElm327(SimulatedVehicle vehicle)
{
    private bool _echo = true;
    private bool _linefeeds;
    private bool _spaces = true;
    private bool _headers;
    private string _protocol = "0";
    private bool _searched;
    private string _lastCommand = string.Empty;

    public SimulatedVehicle Vehicle => vehicle;

    /// <summary>The bus the simulated vehicle speaks: "6" CAN 11-bit, "7" CAN 29-bit, "3" ISO 9141-2 (legacy).</summary>
    public string VehicleProtocol { get; set; } = "6";

    /// <summary>A transmission ECU (7E9) also answers 0100 and speed, as on many cars.</summary>
    public bool SecondEcu { get; set; }

    /// <summary>Clone quirk: each single frame is sent twice.</summary>
    public bool DuplicateFrames { get; set; }

    /// <summary>Clone quirk: NUL bytes before the reset banner and between lines.</summary>
    public bool SendsNulBytes { get; set; }

    /// <summary>Clone quirk: line noise (bytes that are not text) before the reset banner, as its serial line restarts.</summary>
    public bool NoiseBeforeBanner { get; set; }

    /// <summary>
    /// Clone and emulator quirk: a line that is empty but for DEL bytes (the wake-up "DEL DEL CR" some programs send) or
    /// nothing at all is echoed as received and then ignored: no '?', no prompt, and no repeat of the last command.
    /// </summary>
    public bool NoPromptForEmptyLine { get; set; }

    /// <summary>Clone quirk: the reset's answer (ATZ) ends with the banner and an empty line, but no prompt.</summary>
    public bool NoPromptAfterBanner { get; set; }

    /// <summary>AT commands this (clone) adapter does not know and answers with '?'.</summary>
    public HashSet<string> UnsupportedAtCommands { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Not an ELM327 at all: answers OK to everything and ERROR to ATH1 (a USB device with another command set).</summary>
    public bool NotAnElm327 { get; set; }

    /// <summary>The next OBD request is answered "STOPPED" (as if interrupted).</summary>
    public bool StopNextRequest { get; set; }

    /// <summary>The next OBD request is answered "<DATA ERROR" after a damaged line.</summary>
    public bool DamageNextRequest { get; set; }

    /// <summary>The next command makes the adapter brown out: "LV RESET", settings back to defaults.</summary>
    public bool BrownOutNextCommand { get; set; }

    /// <summary>Clone quirk after power-on: this many command lines vanish without an answer (int.MaxValue: a silent device).</summary>
    public int LostLines { get; set; }

    public int Commands { get; private set; }

    public string Version { get; set; } = "ELM327 v1.5";

    /// <summary>Echo is on: each character received goes back to the sender (on by default, ATE0 turns it off).</summary>
    internal bool Echoes => _echo;

    /// <summary>
    /// Answers one command line (without its CR) with the exact bytes the adapter would send, prompt included; one
    /// character a byte (Latin-1), since line noise is not ASCII.
    /// </summary>
    public string Respond(string rawCommand)
    {
        Commands++;
        if (LostLines > 0)
        {
            LostLines--;
            return string.Empty;
        }

        var probe = rawCommand.Contains('\x7F', StringComparison.Ordinal);
        var command = new string(rawCommand.Where(c => c is not ('\x7F' or ' ' or '\n')).ToArray()).ToUpperInvariant();
        if (command.Length == 0 && NoPromptForEmptyLine)
            return _echo ? rawCommand + "\r" : string.Empty;
        if (command.Length == 0 && !probe)
            command = _lastCommand; // a bare CR repeats the last command
        var echo = _echo ? rawCommand.Replace("\x7F", string.Empty, StringComparison.Ordinal) + "\r" : string.Empty;
        if (probe && command.Length == 0)
            return echo + Finish("?");
        _lastCommand = command;

        if (BrownOutNextCommand)
        {
            BrownOutNextCommand = false;
            Reset();
            return Finish("LV RESET");
        }

        string body;
        if (NotAnElm327)
            body = command == "ATH1" ? "ERROR" : "OK";
        else if (command.StartsWith("AT", StringComparison.Ordinal))
            body = AtCommand(command[2..]);
        else
            body = ObdRequest(command);
        var text = echo + Finish(body);
        if (NoPromptAfterBanner && command == "ATZ")
            text = text.TrimEnd('>');
        return SendsNulBytes ? text.Replace("\r", "\r\0", StringComparison.Ordinal) : text;
    }

    private string Finish(string body)
    {
        var end = _linefeeds ? "\r\n" : "\r";
        return (body.Length == 0 ? string.Empty : body.Replace("\r", end, StringComparison.Ordinal) + end) + end + ">";
    }

    private void Reset()
    {
        _echo = true;
        _linefeeds = false;
        _spaces = true;
        _headers = false;
        _protocol = "0";
        _searched = false;
    }

    private string AtCommand(string at)
    {
        if (UnsupportedAtCommands.Contains("AT" + at) || UnsupportedAtCommands.Contains(at))
            return "?";
        switch (at)
        {
            case "Z":
                Reset();
                return (SendsNulBytes ? "\0\0" : string.Empty) + (NoiseBeforeBanner ? "\u00FC\u0080\u00F8\u0000\u00FE" : string.Empty) + "\r" + Version;
            case "WS":
                Reset();
                return Version;
            case "I":
                return Version;
            case "@1":
                return "OBDII to RS232 Interpreter";
            case "E0": _echo = false; return "OK";
            case "E1": _echo = true; return "OK";
            case "L0": _linefeeds = false; return "OK";
            case "L1": _linefeeds = true; return "OK";
            case "S0": _spaces = false; return "OK";
            case "S1": _spaces = true; return "OK";
            case "H0": _headers = false; return "OK";
            case "H1": _headers = true; return "OK";
            case "RV":
                return string.Create(CultureInfo.InvariantCulture, $"{vehicle.BatteryVoltage:0.0}V");
            case "DP":
                return _protocol == "0" ? "AUTO" : (_searched ? "AUTO, " : string.Empty) + Grid.Edge.Obd.Elm327.ObdProtocols.Name(_protocol);
            case "DPN":
                return (_searched ? "A" : string.Empty) + _protocol;
        }

        if (at.StartsWith("SP", StringComparison.Ordinal) || at.StartsWith("TP", StringComparison.Ordinal))
        {
            var number = at[2..].TrimStart('A');
            _protocol = number.Length == 0 ? "0" : number;
            _searched = false;
            return "OK";
        }

        if (at.StartsWith("AT", StringComparison.Ordinal) || at.StartsWith("ST", StringComparison.Ordinal) || at.StartsWith("CAF", StringComparison.Ordinal)
            || at.StartsWith("CFC", StringComparison.Ordinal) || at.StartsWith("SH", StringComparison.Ordinal) || at.StartsWith('D') || at.StartsWith('M') || at is "PC" or "LP")
            return "OK";
        return "?";
    }

    private string ObdRequest(string command)
    {
        if (command.Length < 2 || command.Length % 2 != 0 || !command.All(char.IsAsciiHexDigit))
            return "?";
        if (StopNextRequest)
        {
            StopNextRequest = false;
            return "STOPPED";
        }

        var prefix = string.Empty;
        if (_protocol == "0")
        {
            // Automatic search on the first request: it finds the vehicle's bus only with the ignition on.
            if (!vehicle.IgnitionOn)
                return "SEARCHING...\rUNABLE TO CONNECT";
            _protocol = VehicleProtocol;
            _searched = true;
            prefix = VehicleProtocol is "3" or "4" or "5" ? "BUS INIT: ...OK\r" : "SEARCHING...\r";
        }
        else if (_protocol != VehicleProtocol || !vehicle.IgnitionOn)
        {
            return IsCan(_protocol) ? "CAN ERROR" : "BUS INIT: ...ERROR";
        }

        var request = Convert.FromHexString(command);
        var answers = Answer(request);
        if (answers.Count == 0)
            return prefix + "NO DATA";
        var lines = new List<string>();
        foreach (var (ecu, payload) in answers)
            lines.AddRange(Frames(ecu, payload));
        if (DamageNextRequest)
        {
            DamageNextRequest = false;
            lines.Insert(0, "7E8 03 41 FF FF");
            lines.Insert(1, "<DATA ERROR");
        }

        return prefix + string.Join("\r", lines);
    }

    private List<(int Ecu, byte[] Payload)> Answer(byte[] request)
    {
        var answers = new List<(int, byte[])>();
        var service = request[0];
        switch (service)
        {
            case 0x01 when request.Length >= 2:
                var pid = request[1];
                if (pid % 0x20 == 0)
                {
                    var mask = Bitmask(pid, vehicle.SupportedPids());
                    if (mask is not null)
                        answers.Add((0, [0x41, pid, .. mask]));
                    if (SecondEcu && pid == 0x00)
                        answers.Add((1, [0x41, 0x00, 0x00, 0x18, 0x00, 0x00])); // the transmission: 0C and 0D
                }
                else if (pid == 0x01)
                {
                    var count = Math.Min(vehicle.StoredCodes.Count, 127);
                    answers.Add((0, [0x41, 0x01, (byte)((vehicle.MilOn ? 0x80 : 0) | count), 0x07, 0xE5, 0x00]));
                }
                else if (vehicle.States.TryGetValue(pid, out var state) && !vehicle.Unsupported.Contains(pid))
                {
                    answers.Add((0, [0x41, pid, .. state]));
                }
                else if (vehicle.Encode(pid) is { } data)
                {
                    answers.Add((0, [0x41, pid, .. data]));
                    if (SecondEcu && pid is 0x0C or 0x0D)
                        answers.Add((1, [0x41, pid, .. data]));
                }

                break;
            case 0x03 or 0x07 or 0x0A:
                var codes = service == 0x03 ? vehicle.StoredCodes : service == 0x07 ? vehicle.PendingCodes : [];
                var bytes = new List<byte> { (byte)(service + 0x40) };
                if (IsCan(_protocol))
                    bytes.Add((byte)codes.Count);
                foreach (var code in codes)
                {
                    bytes.Add((byte)(code.Raw >> 8));
                    bytes.Add((byte)code.Raw);
                }

                answers.Add((0, [.. bytes]));
                break;
            case 0x04:
                answers.Add((0, vehicle.Clear() ? [0x44] : [0x7F, 0x04, 0x22]));
                break;
            case 0x09 when request.Length >= 2 && request[1] == 0x02:
                answers.Add((0, [0x49, 0x02, 0x01, .. Encoding.ASCII.GetBytes(vehicle.Vin)]));
                break;
        }

        return answers;
    }

    private static byte[]? Bitmask(int basePid, IReadOnlyList<int> supported)
    {
        if (basePid != 0 && !supported.Any(p => p > basePid))
            return null;
        var mask = new byte[4];
        foreach (var pid in supported.Where(p => p > basePid && p <= basePid + 0x20))
        {
            var bit = pid - basePid - 1;
            mask[bit / 8] |= (byte)(0x80 >> (bit % 8));
        }

        // Announce the next range when anything above it is supported.
        if (supported.Any(p => p > basePid + 0x20))
            mask[3] |= 0x01;
        return mask;
    }

    private IEnumerable<string> Frames(int ecuIndex, byte[] payload)
    {
        if (IsCan(_protocol))
            return CanFrames(ecuIndex, payload);
        return LegacyFrames(ecuIndex, payload);
    }

    private List<string> CanFrames(int ecuIndex, byte[] payload)
    {
        var header = _protocol is "7" or "9" or "A" ? $"18DAF1{(ecuIndex == 0 ? "10" : "18")}" : $"7E{8 + ecuIndex}";
        var frames = new List<byte[]>();
        if (payload.Length <= 7)
        {
            frames.Add([(byte)payload.Length, .. payload]);
        }
        else
        {
            frames.Add([(byte)(0x10 | (payload.Length >> 8)), (byte)payload.Length, .. payload.Take(6)]);
            var sequence = 1;
            for (var at = 6; at < payload.Length; at += 7, sequence = (sequence + 1) & 0xF)
            {
                var chunk = payload.Skip(at).Take(7).ToList();
                while (chunk.Count < 7)
                    chunk.Add(0x00);
                frames.Add([(byte)(0x20 | sequence), .. chunk]);
            }
        }

        if (!_headers)
        {
            if (frames.Count == 1)
            {
                var single = Hex(payload);
                return DuplicateFrames ? [single, single] : [single];
            }

            // Headers off: a length line, then "n:" lines of the payload (ISO-TP bytes removed).
            var lines = new List<string> { payload.Length.ToString("X3", CultureInfo.InvariantCulture) };
            lines.Add("0: " + Hex(payload.Take(6).ToArray()));
            var n = 1;
            for (var at = 6; at < payload.Length; at += 7, n = (n + 1) & 0xF)
                lines.Add(n.ToString("X", CultureInfo.InvariantCulture) + ": " + Hex(payload.Skip(at).Take(7).ToArray()));
            return lines;
        }

        var id = _spaces && header.Length == 8 ? string.Join(' ', Enumerable.Range(0, 4).Select(i => header.Substring(i * 2, 2))) : header;
        var result = frames.Select(f => id + (_spaces ? " " : string.Empty) + Hex(f)).ToList();
        if (DuplicateFrames && frames.Count == 1)
            result.Add(result[0]);
        return result;
    }

    private IEnumerable<string> LegacyFrames(int ecuIndex, byte[] payload)
    {
        var source = (byte)(ecuIndex == 0 ? 0x10 : 0x18);
        var lines = new List<byte[]>();
        if (payload[0] is 0x43 or 0x47 or 0x4A)
        {
            // No count byte; 3 codes per line, padded with 00 00.
            var codes = payload.Skip(1).ToList();
            do
            {
                var line = new List<byte> { payload[0] };
                line.AddRange(codes.Take(6));
                while (line.Count < 7)
                    line.Add(0x00);
                lines.Add([.. line]);
                codes = codes.Skip(6).ToList();
            }
            while (codes.Count > 0);
        }
        else if (payload[0] == 0x49 && payload.Length > 7)
        {
            // VIN: 5 numbered lines of 4 bytes, the first padded with three 00 bytes.
            var data = new byte[] { 0, 0, 0 }.Concat(payload.Skip(3)).ToArray();
            for (var n = 0; n < 5; n++)
                lines.Add([0x49, 0x02, (byte)(n + 1), .. data.Skip(n * 4).Take(4)]);
        }
        else
        {
            lines.Add(payload);
        }

        return lines.Select(data =>
        {
            byte[] frame = [0x48, 0x6B, source, .. data];
            var checksum = (byte)frame.Sum(b => b);
            return _headers ? Hex([.. frame, checksum]) : Hex(data);
        });
    }

    private string Hex(byte[] bytes) => string.Join(_spaces ? " " : string.Empty, bytes.Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));

    private static bool IsCan(string protocol) => Grid.Edge.Obd.Elm327.ObdProtocols.IsCan(protocol);
}
