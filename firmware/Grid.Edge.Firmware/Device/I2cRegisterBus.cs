using System.Device.I2c;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Device;

/// <summary>The BME280 on the ESP32's I2C controller.</summary>
internal sealed class I2cRegisterBus : IRegisterBus
{
    private readonly I2cDevice _device;

    public I2cRegisterBus(int bus, int address)
    {
        _device = I2cDevice.Create(new I2cConnectionSettings(bus, address, I2cBusSpeed.StandardMode));
    }

    public bool WriteRead(byte[] writeBuffer, byte[] readBuffer) =>
        _device.WriteRead(writeBuffer, readBuffer).Status == I2cTransferStatus.FullTransfer;

    public bool Write(byte[] writeBuffer) => _device.Write(writeBuffer).Status == I2cTransferStatus.FullTransfer;
}
