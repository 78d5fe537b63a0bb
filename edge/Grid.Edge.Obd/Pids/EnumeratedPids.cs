namespace Grid.Edge.Obd.Pids;

/// <summary>
/// The service 01 PIDs of the reference table that are states rather than measurements: fuel system status (03),
/// the DTC behind the freeze frame (02), the OBD standard (1C) and the fuel type (51). Decoded to words for people.
/// </summary>
public static class EnumeratedPids
{
    public static readonly IReadOnlyList<int> All = [0x02, 0x03, 0x1C, 0x51];

    /// <summary>Describes a <c>41 pid ...</c> answer; null when it is not one of these PIDs or too short.</summary>
    public static string? Describe(int pid, byte[] payload)
    {
        if (payload.Length < 3 || payload[0] != 0x41 || payload[1] != pid)
            return null;
        var a = payload[2];
        return pid switch
        {
            0x02 when payload.Length >= 4 => ((a << 8) | payload[3]) == 0 ? "no freeze frame" : "freeze frame of " + new TroubleCode((a << 8) | payload[3]),
            0x03 => FuelSystem(a) + (payload.Length >= 4 && payload[3] != 0 ? "; bank 2: " + FuelSystem(payload[3]) : string.Empty),
            0x1C => ObdStandard(a),
            0x51 => FuelType(a),
            _ => null,
        };
    }

    public static string FuelSystem(byte state) => state switch
    {
        0 => "not present",
        1 => "open loop (engine cold)",
        2 => "closed loop (oxygen sensor feedback)",
        4 => "open loop (load or deceleration fuel cut)",
        8 => "open loop (system fault)",
        16 => "closed loop with a fault in a feedback sensor",
        _ => $"unknown state 0x{state:X2}",
    };

    public static string ObdStandard(byte standard) => standard switch
    {
        1 => "OBD-II (CARB)",
        2 => "OBD (EPA)",
        3 => "OBD and OBD-II",
        4 => "OBD-I",
        5 => "not OBD compliant",
        6 => "EOBD (Europe)",
        7 => "EOBD and OBD-II",
        8 => "EOBD and OBD",
        9 => "EOBD, OBD and OBD-II",
        10 => "JOBD (Japan)",
        11 => "JOBD and OBD-II",
        12 => "JOBD and EOBD",
        13 => "JOBD, EOBD and OBD-II",
        17 => "EMD (engine manufacturer diagnostics)",
        18 => "EMD+",
        19 => "HD OBD-C",
        20 => "HD OBD",
        21 => "WWH OBD",
        23 => "HD EOBD-I",
        24 => "HD EOBD-I N",
        25 => "HD EOBD-II",
        26 => "HD EOBD-II N",
        28 => "OBDBr-1 (Brazil)",
        29 => "OBDBr-2",
        30 => "KOBD (Korea)",
        31 => "IOBD I (India)",
        32 => "IOBD II",
        33 => "HD EOBD-IV",
        _ => $"standard {standard}",
    };

    public static string FuelType(byte type) => type switch
    {
        0 => "not available",
        1 => "gasoline",
        2 => "methanol",
        3 => "ethanol",
        4 => "diesel",
        5 => "LPG",
        6 => "CNG",
        7 => "propane",
        8 => "electric",
        9 => "bifuel gasoline",
        10 => "bifuel methanol",
        11 => "bifuel ethanol",
        12 => "bifuel LPG",
        13 => "bifuel CNG",
        14 => "bifuel propane",
        15 => "bifuel electricity",
        16 => "bifuel electric and combustion",
        17 => "hybrid gasoline",
        18 => "hybrid ethanol",
        19 => "hybrid diesel",
        20 => "hybrid electric",
        21 => "hybrid electric and combustion",
        22 => "hybrid regenerative",
        23 => "bifuel diesel",
        _ => $"fuel type {type}",
    };
}
