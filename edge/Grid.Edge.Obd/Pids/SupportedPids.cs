namespace Grid.Edge.Obd.Pids;

/// <summary>The supported-PID bitmasks (PIDs 00, 20, 40, ... C0): bit 1 = MSB of A = base + 1.</summary>
internal static class SupportedPids
{
    public static readonly int[] BitmaskPids = [0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0, 0xE0];

    /// <summary>Adds the PIDs a <c>41 base A B C D</c> answer marks supported; true when the next bitmask PID is among them.</summary>
    public static bool Decode(byte[] payload, int basePid, ISet<int> supported)
    {
        if (payload.Length < 6 || payload[0] != 0x41 || payload[1] != basePid)
            return false;
        for (var i = 0; i < 32; i++)
        {
            var b = payload[2 + (i / 8)];
            if ((b & (0x80 >> (i % 8))) != 0)
                supported.Add(basePid + i + 1);
        }

        return supported.Contains(basePid + 0x20);
    }
}
