using System.Device.I2c;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Devices.Bme280;

/// <summary>The firmware core's register bus over a .NET IoT <see cref="I2cDevice"/>: a failed transfer is false, not an exception.</summary>
internal sealed class I2cRegisterBus(I2cDevice device) : IRegisterBus
{
    public bool WriteRead(byte[] writeBuffer, byte[] readBuffer)
    {
        try
        {
            device.WriteRead(writeBuffer, readBuffer);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public bool Write(byte[] writeBuffer)
    {
        try
        {
            device.Write(writeBuffer);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>Pauses with the thread sleeping (conversion waits of a few milliseconds).</summary>
internal sealed class ThreadPower : IPower
{
    public bool WasPowerCycled => false;

    public void Pause(int milliseconds) => Thread.Sleep(milliseconds);

    public void DeepSleep(long milliseconds) => Thread.Sleep(TimeSpan.FromMilliseconds(milliseconds));
}
