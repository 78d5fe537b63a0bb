using Grid.Edge.Obd.Frames;

namespace Grid.Edge.Obd.Elm327;

/// <summary>The ELM327 protocol numbers (ATSP / ATDPN) and what they mean for parsing.</summary>
public static class ObdProtocols
{
    /// <summary>The order to try protocols one by one when automatic search fails (python-OBD's, CAN first).</summary>
    public static readonly string[] FallbackOrder = ["6", "8", "1", "7", "9", "2", "3", "4", "5", "A"];

    public static string Name(string number) => number.ToUpperInvariant() switch
    {
        "1" => "SAE J1850 PWM (41.6 kbaud)",
        "2" => "SAE J1850 VPW (10.4 kbaud)",
        "3" => "ISO 9141-2 (5 baud init)",
        "4" => "ISO 14230-4 KWP (5 baud init)",
        "5" => "ISO 14230-4 KWP (fast init)",
        "6" => "ISO 15765-4 CAN (11 bit ID, 500 kbaud)",
        "7" => "ISO 15765-4 CAN (29 bit ID, 500 kbaud)",
        "8" => "ISO 15765-4 CAN (11 bit ID, 250 kbaud)",
        "9" => "ISO 15765-4 CAN (29 bit ID, 250 kbaud)",
        "A" => "SAE J1939 CAN (29 bit ID, 250 kbaud)",
        "B" => "USER1 CAN (11 bit ID, 125 kbaud)",
        "C" => "USER2 CAN (11 bit ID, 50 kbaud)",
        _ => "unknown",
    };

    public static bool IsCan(string number) => number.ToUpperInvariant() is "6" or "7" or "8" or "9" or "A" or "B" or "C";

    public static HeaderFormat HeaderFormat(string number, bool headersOn) =>
        !headersOn ? Frames.HeaderFormat.None
        : number.ToUpperInvariant() switch
        {
            "6" or "8" or "B" or "C" => Frames.HeaderFormat.Can11,
            "7" or "9" or "A" => Frames.HeaderFormat.Can29,
            "1" or "2" or "3" or "4" or "5" => Frames.HeaderFormat.Legacy,
            _ => Frames.HeaderFormat.Can11,
        };
}
