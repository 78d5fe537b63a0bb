using Grid.Edge.Obd.Pids;

namespace Grid.Edge.Simulation.Obd;

/// <summary>
/// The vehicle behind a simulated adapter: what its engine ECU (and optionally a transmission ECU) answers.
/// Values are set by tests or by the hub's demo drive; reads are thread-safe snapshots.
/// </summary>
public sealed class SimulatedVehicle
{
    private readonly Lock _sync = new();
    private readonly Dictionary<int, double> _values = new()
    {
        [0x04] = 22.0, [0x05] = 88, [0x06] = 1.6, [0x07] = -3.1, [0x0A] = 300, [0x0B] = 35, [0x0C] = 850, [0x0D] = 0,
        [0x0E] = 8.5, [0x0F] = 24, [0x10] = 3.5, [0x11] = 14.5, [0x1F] = 600, [0x21] = 0, [0x2F] = 62.7, [0x30] = 12,
        [0x31] = 5021, [0x33] = 101, [0x42] = 14.2, [0x46] = 17, [0x4D] = 0, [0x4E] = 3400, [0x5C] = 92, [0x5E] = 1.2,
        [0xA6] = 123456.7,
    };

    public bool IgnitionOn { get; set; } = true;

    /// <summary>Raw data of the enumerated PIDs: 03 fuel system (closed loop), 1C OBD standard (EOBD), 51 fuel type (diesel).</summary>
    public Dictionary<int, byte[]> States { get; } = new() { [0x03] = [0x02, 0x00], [0x1C] = [0x06], [0x51] = [0x04], [0x02] = [0x00, 0x00] };

    public double BatteryVoltage { get; set; } = 14.1;

    public string Vin { get; set; } = "WP0ZZZ99ZTS390000";

    public bool MilOn { get; set; }

    public List<TroubleCode> StoredCodes { get; } = [];

    public List<TroubleCode> PendingCodes { get; } = [];

    /// <summary>True when a clear (service 04) with the engine running must be refused (NRC 0x22), like many ECUs.</summary>
    public bool RefuseClearWhileRunning { get; set; } = true;

    public int ClearRequests { get; private set; }

    /// <summary>PIDs the engine ECU does not support (answers nothing).</summary>
    public HashSet<int> Unsupported { get; } = [];

    public void Set(int pid, double value)
    {
        lock (_sync)
            _values[pid] = value;
    }

    public double Get(int pid)
    {
        lock (_sync)
            return _values.TryGetValue(pid, out var value) ? value : 0;
    }

    public bool Supports(int pid)
    {
        lock (_sync)
            return _values.ContainsKey(pid) && !Unsupported.Contains(pid);
    }

    public IReadOnlyList<int> SupportedPids()
    {
        lock (_sync)
            return _values.Keys.Concat(States.Keys).Where(p => !Unsupported.Contains(p)).Append(0x01).Distinct().Order().ToList();
    }

    /// <summary>Engine running: the ECU clears only with the engine stopped.</summary>
    public bool EngineRunning => Get(0x0C) > 0;

    /// <summary>Handles service 04; true when cleared.</summary>
    public bool Clear()
    {
        ClearRequests++;
        if (RefuseClearWhileRunning && EngineRunning)
            return false;
        lock (_sync)
        {
            StoredCodes.Clear();
            PendingCodes.Clear();
            MilOn = false;
            _values[0x31] = 0;
            _values[0x30] = 0;
            _values[0x4E] = 0;
        }

        return true;
    }

    /// <summary>The raw data bytes of a PID (after "41 pid"), by inverting the J1979 formula.</summary>
    public byte[]? Encode(int pid)
    {
        if (!PidTable.TryGet(pid, out var definition) || !Supports(pid))
            return null;
        var value = Get(pid);
        long raw = pid switch
        {
            0x04 or 0x11 or 0x2F => (long)Math.Round(value * 255 / 100),
            0x05 or 0x0F or 0x46 or 0x5C => (long)Math.Round(value + 40),
            0x06 or 0x07 or 0x08 or 0x09 => (long)Math.Round((value * 128 / 100) + 128),
            0x0A => (long)Math.Round(value / 3),
            0x0C => (long)Math.Round(value * 4),
            0x0E => (long)Math.Round((value + 64) * 2),
            0x10 => (long)Math.Round(value * 100),
            0x42 => (long)Math.Round(value * 1000),
            0x5E => (long)Math.Round(value * 20),
            0xA6 => (long)Math.Round(value * 10),
            _ => (long)Math.Round(value),
        };
        var max = (1L << (8 * definition.Bytes)) - 1;
        raw = Math.Clamp(raw, 0, max);
        var bytes = new byte[definition.Bytes];
        for (var i = definition.Bytes - 1; i >= 0; i--, raw >>= 8)
            bytes[i] = (byte)(raw & 0xFF);
        return bytes;
    }
}
