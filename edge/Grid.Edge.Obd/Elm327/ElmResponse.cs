using Grid.Edge.Obd.Frames;

namespace Grid.Edge.Obd.Elm327;

/// <summary>One command's answer: the text lines (echo and blank lines removed), its status, and the decoded messages.</summary>
public sealed record ElmResponse(string Command, IReadOnlyList<string> Lines, ElmStatus Status, IReadOnlyList<ObdMessage> Messages)
{
    public bool IsOk => Status == ElmStatus.Ok;

    /// <summary>Messages that answer <paramref name="service"/> positively (service + 0x40), optionally for one PID.</summary>
    public IEnumerable<ObdMessage> Positive(int service, int pid = -1) =>
        Messages.Where(m => m.Payload.Length > 0 && m.Payload[0] == service + 0x40 && (pid < 0 || (m.Payload.Length > 1 && m.Payload[1] == pid)));

    /// <summary>Sorts adapter text into a status; data lines are those that are all hex.</summary>
    internal static ElmStatus Classify(IReadOnlyList<string> lines)
    {
        var status = ElmStatus.Ok;
        foreach (var raw in lines)
        {
            var line = raw.Trim().ToUpperInvariant();
            ElmStatus found;
            if (line.Length == 0 || FrameParser.IsHexLine(line) || line == "OK" || line.StartsWith("SEARCHING", StringComparison.Ordinal)
                || (line.StartsWith("BUS INIT", StringComparison.Ordinal) && line.EndsWith("OK", StringComparison.Ordinal)) || line.StartsWith("ELM327", StringComparison.Ordinal))
                continue;
            if (line == "NO DATA")
                found = ElmStatus.NoData;
            else if (line.Contains("UNABLE TO CONNECT", StringComparison.Ordinal) || line.StartsWith("BUS INIT", StringComparison.Ordinal) || line.Contains("NOT CONNECTED", StringComparison.Ordinal))
                found = ElmStatus.UnableToConnect;
            else if (line is "CAN ERROR" or "BUS ERROR" or "BUS BUSY" or "FB ERROR")
                found = ElmStatus.BusError;
            else if (line.Contains("DATA ERROR", StringComparison.Ordinal) || line == "BUFFER FULL" || line.Contains("RX ERROR", StringComparison.Ordinal))
                found = ElmStatus.DataError;
            else if (line == "STOPPED")
                found = ElmStatus.Stopped;
            else if (line.StartsWith('?'))
                found = ElmStatus.Unknown;
            else if (line.StartsWith("LV RESET", StringComparison.Ordinal) || (line.StartsWith("ERR", StringComparison.Ordinal) && line.Length <= 5) || line.Contains("ALERT", StringComparison.Ordinal))
                found = ElmStatus.AdapterReset;
            else
                continue; // Unknown chatter from clones ("VENDOR MODE"): not data, not fatal.

            // Keep the most serious status of the answer.
            if (found > status || status == ElmStatus.Ok)
                status = found;
        }

        return status;
    }
}
