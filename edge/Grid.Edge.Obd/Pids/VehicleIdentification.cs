using System.Text;

namespace Grid.Edge.Obd.Pids;

/// <summary>Service 09 PID 02: the VIN, from one reassembled CAN message or from legacy numbered lines.</summary>
internal static class VehicleIdentification
{
    /// <summary>Decodes the VIN from the messages of one ECU; null when there is no valid 17-character VIN.</summary>
    public static string? Decode(IReadOnlyList<byte[]> payloads)
    {
        var bytes = new List<byte>();
        if (payloads.Count == 1 && payloads[0].Length > 3)
        {
            bytes.AddRange(payloads[0][3..]); // 49 02 01 + 17 characters
        }
        else
        {
            // Legacy: "49 02 0n" + 4 bytes per line, n = 1..5, in any order.
            foreach (var line in payloads.Where(p => p.Length >= 7 && p[0] == 0x49 && p[1] == 0x02).OrderBy(p => p[2]))
                bytes.AddRange(line[3..]);
        }

        var text = Encoding.ASCII.GetString([.. bytes.SkipWhile(b => b == 0).Reverse().SkipWhile(b => b == 0).Reverse()]);
        return text.Length == 17 && text.All(c => char.IsAsciiDigit(c) || (char.IsAsciiLetterUpper(c) && c is not ('I' or 'O' or 'Q'))) ? text : null;
    }
}
