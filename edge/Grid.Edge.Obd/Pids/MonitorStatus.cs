namespace Grid.Edge.Obd.Pids;

/// <summary>PID 01: the MIL, the number of stored emission codes, and the ignition type.</summary>
public sealed record MonitorStatus(bool MilOn, int StoredCodes, bool CompressionIgnition)
{
    public static bool TryDecode(byte[] payload, out MonitorStatus status)
    {
        status = new MonitorStatus(false, 0, false);
        if (payload.Length < 6 || payload[0] != 0x41 || payload[1] != 0x01)
            return false;
        status = new MonitorStatus((payload[2] & 0x80) != 0, payload[2] & 0x7F, (payload[3] & 0x08) != 0);
        return true;
    }
}
