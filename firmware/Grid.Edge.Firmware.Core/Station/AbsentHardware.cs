using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Station;

/// <summary>Stands in for a part the board does not have, so the station never deals with null.</summary>
public sealed class AbsentHardware : IRegisterBus, IPulseSource, IAnalogInput
{
    public static readonly AbsentHardware Instance = new AbsentHardware();

    public bool WriteRead(byte[] writeBuffer, byte[] readBuffer) => false;

    public bool Write(byte[] writeBuffer) => false;

    public void StartCounting()
    {
    }

    public int TakeCount() => 0;

    public void StopCounting()
    {
    }

    public bool TryReadVolts(out double volts)
    {
        volts = 0;
        return false;
    }
}
