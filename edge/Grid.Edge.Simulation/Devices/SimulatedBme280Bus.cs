using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Simulation.Devices;

/// <summary>A BME280's register file (<see cref="Bme280Registers"/>) on the firmware's bus, as the station core sees it.</summary>
internal sealed class SimulatedBme280Bus(Bme280Registers registers) : IRegisterBus
{
    public SimulatedBme280Bus(byte chipId = 0x60)
        : this(new Bme280Registers(chipId))
    {
    }

    public Bme280Registers Registers { get; } = registers;

    /// <summary>No device answers: every transfer fails.</summary>
    public bool Absent { get; set; }

    public int ConversionPolls
    {
        get => Registers.ConversionPolls;
        set => Registers.ConversionPolls = value;
    }

    public int Conversions => Registers.Conversions;

    public byte ControlHumidity => Registers.ControlHumidity;

    public byte Config => Registers.Config;

    public void SetRaw(int adcP, int adcT, int adcH) => Registers.SetRaw(adcP, adcT, adcH);

    public void Blank(byte value) => Registers.Blank(value);

    public void Poke(int register, byte value) => Registers.Poke(register, value);

    public bool WriteRead(byte[] writeBuffer, byte[] readBuffer)
    {
        if (Absent || writeBuffer.Length != 1)
            return false;
        Registers.Read(writeBuffer[0], readBuffer);
        return true;
    }

    public bool Write(byte[] writeBuffer)
    {
        if (Absent || writeBuffer.Length != 2)
            return false;
        Registers.Write(writeBuffer[0], writeBuffer[1]);
        return true;
    }
}
