using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

/// <summary>
/// A BME280 (or BMP280) as its register file on the bus: chip id, calibration, ctrl writes, forced conversions
/// that take a number of status polls, the data burst, and faults (absent device, blank calibration).
/// </summary>
internal sealed class Bme280RegisterFile : IRegisterBus
{
    private readonly byte[] _registers = new byte[256];
    private int _pollsUntilDone;

    public Bme280RegisterFile(byte chipId = 0x60)
    {
        _registers[0xD0] = chipId;
        // Bosch worked example calibration (reference bme280.md 5.1) and the humidity words of 5.2.
        byte[] tp = [0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17];
        tp.CopyTo(_registers, 0x88);
        if (chipId == 0x60)
        {
            _registers[0xA1] = 0x4B;
            byte[] h = [0x6A, 0x01, 0x00, 0x14, 0x0D, 0x00, 0x1E];
            h.CopyTo(_registers, 0xE1);
        }

        SetRaw(415148, 519888, 28656);
    }

    public bool Absent { get; set; }

    /// <summary>Status polls a conversion takes before the measuring bit clears.</summary>
    public int ConversionPolls { get; set; } = 1;

    public int Conversions { get; private set; }

    public byte ControlHumidity => _registers[0xF2];

    public byte Config => _registers[0xF5];

    public void SetRaw(int adcP, int adcT, int adcH)
    {
        _registers[0xF7] = (byte)(adcP >> 12);
        _registers[0xF8] = (byte)(adcP >> 4);
        _registers[0xF9] = (byte)((adcP & 0xF) << 4);
        _registers[0xFA] = (byte)(adcT >> 12);
        _registers[0xFB] = (byte)(adcT >> 4);
        _registers[0xFC] = (byte)((adcT & 0xF) << 4);
        _registers[0xFD] = (byte)(adcH >> 8);
        _registers[0xFE] = (byte)adcH;
    }

    public void Blank(byte value) => Array.Fill(_registers, value, 0x88, 0xA1 - 0x88 + 1);

    public void Poke(int register, byte value) => _registers[register] = value;

    public bool WriteRead(byte[] writeBuffer, byte[] readBuffer)
    {
        if (Absent || writeBuffer.Length != 1)
            return false;
        var register = writeBuffer[0];
        for (var i = 0; i < readBuffer.Length; i++)
        {
            var address = register + i;
            if (address == 0xF3)
            {
                readBuffer[i] = (byte)(_pollsUntilDone > 0 ? 0x08 : 0x00);
                if (_pollsUntilDone > 0)
                    _pollsUntilDone--;
            }
            else
            {
                readBuffer[i] = _registers[address & 0xFF];
            }
        }

        return true;
    }

    public bool Write(byte[] writeBuffer)
    {
        if (Absent || writeBuffer.Length != 2)
            return false;
        _registers[writeBuffer[0]] = writeBuffer[1];
        if (writeBuffer[0] == 0xF4 && (writeBuffer[1] & 0x03) is 0x01 or 0x02)
        {
            Conversions++;
            _pollsUntilDone = ConversionPolls;
        }

        return true;
    }
}
