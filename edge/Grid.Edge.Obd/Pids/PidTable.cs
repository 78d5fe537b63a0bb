using System.Collections.Frozen;

namespace Grid.Edge.Obd.Pids;

/// <summary>Every service 01 PID of the reference table that is a measurement, with its formula (shared reference obd2.md, section 2).</summary>
public static class PidTable
{
    private static double U16(byte[] d) => (d[0] * 256) + d[1];

    private static double Percent(byte[] d) => 100.0 * d[0] / 255.0;

    private static double Trim(byte[] d) => (d[0] - 128) * 100.0 / 128.0;

    public static readonly IReadOnlyList<PidDefinition> All =
    [
        new(0x04, "Calculated engine load", "engine_load", "%", 1, PollClass.Fast, Percent),
        new(0x05, "Engine coolant temperature", "coolant_temp", "degC", 1, PollClass.Slow, d => d[0] - 40),
        new(0x06, "Short term fuel trim, bank 1", "stft1", "%", 1, PollClass.Slow, Trim),
        new(0x07, "Long term fuel trim, bank 1", "ltft1", "%", 1, PollClass.Slow, Trim),
        new(0x08, "Short term fuel trim, bank 2", "stft2", "%", 1, PollClass.Slow, Trim),
        new(0x09, "Long term fuel trim, bank 2", "ltft2", "%", 1, PollClass.Slow, Trim),
        new(0x0A, "Fuel pressure (gauge)", "fuel_pressure", "kPa", 1, PollClass.Slow, d => 3 * d[0]),
        new(0x0B, "Intake manifold absolute pressure", "map", "kPa", 1, PollClass.Fast, d => d[0]),
        new(0x0C, "Engine speed", "rpm", "rpm", 2, PollClass.Fast, d => U16(d) / 4.0),
        new(0x0D, "Vehicle speed", "speed", "km/h", 1, PollClass.Fast, d => d[0]),
        new(0x0E, "Timing advance", "timing_advance", "deg", 1, PollClass.Slow, d => (d[0] / 2.0) - 64),
        new(0x0F, "Intake air temperature", "intake_temp", "degC", 1, PollClass.Slow, d => d[0] - 40),
        new(0x10, "MAF air flow rate", "maf", "g/s", 2, PollClass.Fast, d => U16(d) / 100.0),
        new(0x11, "Throttle position", "throttle", "%", 1, PollClass.Fast, Percent),
        new(0x1F, "Run time since engine start", "run_time", "s", 2, PollClass.Rare, U16),
        new(0x21, "Distance travelled with MIL on", "distance_with_mil", "km", 2, PollClass.Rare, U16),
        new(0x2F, "Fuel tank level input", "fuel_level", "%", 1, PollClass.Slow, Percent),
        new(0x30, "Warm-ups since codes cleared", "warmups_since_clear", "", 1, PollClass.Rare, d => d[0]),
        new(0x31, "Distance travelled since codes cleared", "distance_since_clear", "km", 2, PollClass.Rare, U16),
        new(0x33, "Absolute barometric pressure", "baro", "kPa", 1, PollClass.Rare, d => d[0]),
        new(0x42, "Control module voltage", "ecu_voltage", "V", 2, PollClass.Slow, d => U16(d) / 1000.0),
        new(0x46, "Ambient air temperature", "ambient_temp", "degC", 1, PollClass.Slow, d => d[0] - 40),
        new(0x4D, "Time run with MIL on", "time_with_mil", "min", 2, PollClass.Rare, U16),
        new(0x4E, "Time since trouble codes cleared", "time_since_clear", "min", 2, PollClass.Rare, U16),
        new(0x5C, "Engine oil temperature", "oil_temp", "degC", 1, PollClass.Slow, d => d[0] - 40),
        new(0x5E, "Engine fuel rate", "fuel_rate", "L/h", 2, PollClass.Fast, d => U16(d) / 20.0),
        new(0xA6, "Odometer", "odometer", "km", 4, PollClass.Rare, d => ((d[0] * 16777216.0) + (d[1] * 65536.0) + (d[2] * 256.0) + d[3]) / 10.0),
    ];

    private static readonly FrozenDictionary<int, PidDefinition> ByPid = All.ToFrozenDictionary(p => p.Pid);

    public static bool TryGet(int pid, out PidDefinition definition) => ByPid.TryGetValue(pid, out definition!);

    /// <summary>
    /// Decodes a service 01 answer (<c>41 pid A B ...</c>). False for a negative response, another PID, too few
    /// bytes, or a service byte other than 0x41 (some emulators answer 0x61).
    /// </summary>
    public static bool TryDecode(int pid, byte[] payload, out double value)
    {
        value = 0;
        if (!ByPid.TryGetValue(pid, out var definition))
            return false;
        if (payload.Length < 2 + definition.Bytes || payload[0] != 0x41 || payload[1] != pid)
            return false;
        value = definition.Decode(payload[2..(2 + definition.Bytes)]);
        return double.IsFinite(value);
    }
}
