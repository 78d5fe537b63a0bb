namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>
/// One device on an I2C (or SPI) bus, shaped like <c>System.Device.I2c.I2cDevice</c> in nanoFramework and .NET IoT
/// but with plain arrays, which both runtimes have. A false return means the transfer failed (no ACK, bus error).
/// </summary>
public interface IRegisterBus
{
    /// <summary>Writes <paramref name="writeBuffer"/> then reads <paramref name="readBuffer"/>.Length bytes (repeated start).</summary>
    bool WriteRead(byte[] writeBuffer, byte[] readBuffer);

    /// <summary>Writes all of <paramref name="writeBuffer"/>.</summary>
    bool Write(byte[] writeBuffer);
}
