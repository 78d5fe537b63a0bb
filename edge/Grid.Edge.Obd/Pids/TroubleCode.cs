using System.Globalization;

namespace Grid.Edge.Obd.Pids;

/// <summary>A diagnostic trouble code (SAE J2012), kept as its two bytes: 0x0171 is P0171.</summary>
public readonly record struct TroubleCode(int Raw)
{
    private const string Systems = "PCBU";

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Systems[(Raw >> 14) & 3]}{(Raw >> 12) & 3}{(Raw >> 8) & 0xF:X}{Raw & 0xFF:X2}");

    public static bool TryParse(string text, out TroubleCode code)
    {
        code = default;
        if (text.Length != 5)
            return false;
        var system = Systems.IndexOf(char.ToUpperInvariant(text[0]), StringComparison.Ordinal);
        if (system < 0 || text[1] is < '0' or > '3' || !int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rest))
            return false;
        code = new TroubleCode((system << 14) | ((text[1] - '0') << 12) | rest);
        return true;
    }

    /// <summary>
    /// Codes in a service 03 / 07 / 0A answer. CAN answers carry a count byte after the service byte; legacy answers
    /// are always 3 pairs padded with 00 00 and have none. 00 00 pairs are padding, never a code.
    /// </summary>
    public static IReadOnlyList<TroubleCode> Decode(byte[] payload, bool hasCountByte)
    {
        var codes = new List<TroubleCode>();
        if (payload.Length < 1 || payload[0] is not (0x43 or 0x47 or 0x4A))
            return codes;
        var start = hasCountByte ? 2 : 1;
        for (var i = start; i + 1 < payload.Length; i += 2)
        {
            var raw = (payload[i] << 8) | payload[i + 1];
            if (raw != 0)
                codes.Add(new TroubleCode(raw));
        }

        return codes;
    }
}
