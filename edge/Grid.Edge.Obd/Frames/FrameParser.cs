using System.Globalization;

namespace Grid.Edge.Obd.Frames;

/// <summary>
/// Turns the hex lines of an ELM327 answer into complete messages per ECU: strips headers, reassembles ISO-TP
/// multi-frame answers (headers on: first and consecutive frames; headers off: the length line and "n:" lines),
/// drops identical repeated frames (some clones send a frame twice), and ignores anything malformed.
/// Never throws on adapter output.
/// </summary>
internal static class FrameParser
{
    public static IReadOnlyList<ObdMessage> Parse(IEnumerable<string> lines, HeaderFormat format)
    {
        var hexLines = new List<string>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length > 0)
                hexLines.Add(line);
        }

        return format switch
        {
            HeaderFormat.None => ParseHeaderless(hexLines),
            HeaderFormat.Legacy => ParseLegacy(hexLines),
            _ => ParseCan(hexLines, format == HeaderFormat.Can29 ? 8 : 3),
        };
    }

    /// <summary>True when a line, spaces aside, is only hex digits (with an optional "n:" sequence prefix).</summary>
    public static bool IsHexLine(string line)
    {
        var body = StripSequencePrefix(line.Trim(), out _);
        var digits = 0;
        foreach (var c in body)
        {
            if (c == ' ')
                continue;
            if (!char.IsAsciiHexDigit(c))
                return false;
            digits++;
        }

        return digits > 0;
    }

    private static List<ObdMessage> ParseHeaderless(List<string> lines)
    {
        var messages = new List<ObdMessage>();
        var index = 0;
        while (index < lines.Count)
        {
            var line = lines[index];
            var compact = line.Replace(" ", string.Empty, StringComparison.Ordinal);
            // A multi-frame answer: "014" (total bytes in hex) then "0: ..", "1: .." lines.
            if (compact.Length == 3 && index + 1 < lines.Count && StripSequencePrefix(lines[index + 1], out var first) != lines[index + 1] && first == 0
                && int.TryParse(compact, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var total))
            {
                var payload = new List<byte>();
                var expected = 0;
                index++;
                var broken = false;
                while (index < lines.Count && StripSequencePrefix(lines[index], out var sequence) is var body && body != lines[index])
                {
                    if (sequence != expected)
                        broken = true;
                    expected = (expected + 1) & 0xF;
                    if (!TryBytes(body, out var bytes))
                        broken = true;
                    else
                        payload.AddRange(bytes);
                    index++;
                }

                if (!broken && payload.Count >= total && total > 0)
                    messages.Add(new ObdMessage(string.Empty, payload.Take(total).ToArray()));
                continue;
            }

            if (TryBytes(line, out var single) && single.Length > 0)
            {
                var message = new ObdMessage(string.Empty, single);
                if (!messages.Exists(m => m.Ecu.Length == 0 && m.Payload.AsSpan().SequenceEqual(single)) || single[0] is 0x43 or 0x47 or 0x4A or 0x49)
                    messages.Add(message);
            }

            index++;
        }

        return messages;
    }

    private static List<ObdMessage> ParseLegacy(List<string> lines)
    {
        var messages = new List<ObdMessage>();
        foreach (var line in lines)
        {
            // 3 header bytes, at least one data byte, then a checksum.
            if (!TryBytes(line, out var bytes) || bytes.Length < 5)
                continue;
            var ecu = bytes[2].ToString("X2", CultureInfo.InvariantCulture);
            var payload = bytes[3..^1];
            if (!messages.Exists(m => m.Ecu == ecu && m.Payload.AsSpan().SequenceEqual(payload)) || payload[0] is 0x43 or 0x47 or 0x4A or 0x49)
                messages.Add(new ObdMessage(ecu, payload));
        }

        return messages;
    }

    private static List<ObdMessage> ParseCan(List<string> lines, int idDigits)
    {
        var singles = new List<ObdMessage>();
        var pending = new Dictionary<string, (int Length, List<byte> Data, int NextSequence, bool Broken)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var line in lines)
        {
            if (!TrySplitCan(line, idDigits, out var ecu, out var frame) || frame.Length < 2)
                continue;
            var pci = frame[0] >> 4;
            switch (pci)
            {
                case 0:
                    var length = frame[0] & 0x0F;
                    if (length == 0 || length > 7 || frame.Length < 1 + length)
                        break;
                    var payload = frame[1..(1 + length)];
                    // Clones sometimes repeat a frame; an identical frame from the same ECU is one answer.
                    if (!singles.Exists(m => m.Ecu == ecu && m.Payload.AsSpan().SequenceEqual(payload)))
                        singles.Add(new ObdMessage(ecu, payload));
                    break;
                case 1:
                    if (frame.Length < 3)
                        break;
                    var total = ((frame[0] & 0x0F) << 8) | frame[1];
                    if (pending.ContainsKey(ecu))
                    {
                        pending[ecu] = (0, [], 0, true); // two first frames from one ECU: drop the message
                        break;
                    }

                    pending[ecu] = (total, [.. frame[2..]], 1, false);
                    order.Add(ecu);
                    break;
                case 2:
                    if (!pending.TryGetValue(ecu, out var state))
                        break;
                    var sequence = frame[0] & 0x0F;
                    if (sequence != state.NextSequence)
                        state.Broken = true;
                    state.Data.AddRange(frame[1..]);
                    state.NextSequence = (state.NextSequence + 1) & 0x0F;
                    pending[ecu] = state;
                    break;
            }
        }

        var messages = new List<ObdMessage>(singles);
        foreach (var ecu in order)
        {
            var (length, data, _, broken) = pending[ecu];
            if (!broken && length > 0 && data.Count >= length)
                messages.Add(new ObdMessage(ecu, data.Take(length).ToArray()));
        }

        return messages;
    }

    private static bool TrySplitCan(string line, int idDigits, out string ecu, out byte[] frame)
    {
        ecu = string.Empty;
        frame = [];
        var compact = line.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (compact.Length <= idDigits || !compact.All(char.IsAsciiHexDigit))
            return false;
        ecu = compact[..idDigits].ToUpperInvariant();
        return TryBytes(compact[idDigits..], out frame);
    }

    private static bool TryBytes(string text, out byte[] bytes)
    {
        bytes = [];
        var compact = text.Replace(" ", string.Empty, StringComparison.Ordinal);
        if (compact.Length == 0 || compact.Length % 2 != 0)
            return false;
        try
        {
            bytes = Convert.FromHexString(compact);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string StripSequencePrefix(string line, out int sequence)
    {
        sequence = -1;
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon is < 1 or > 2)
            return line;
        if (!int.TryParse(line.AsSpan(0, colon), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out sequence))
            return line;
        return line[(colon + 1)..].Trim();
    }
}
