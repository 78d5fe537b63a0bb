using System.Device.Spi;
using System.Globalization;
using Grid.Edge.Devices.Sensors;

namespace Grid.Edge.Devices.WindVane;

/// <summary>
/// Resistor-ladder wind vane (Misol WH-SP-WD, the SparkFun weather meter's vane) read through an MCP3008: the vane
/// and a fixed resistor form a divider; the voltage names one of 16 directions. A reading far from every ladder
/// value (more than 4 % of full scale off; neighbouring positions are at least 0.9 % apart) is refused as a wiring
/// fault (open: full scale, shorted: zero) instead of guessed.
/// </summary>
public sealed class WindVaneSensor : ISensor
{
    /// <summary>The vane's resistance at each of its 16 positions (SparkFun weather meter data sheet), by direction in degrees.</summary>
    public static readonly IReadOnlyList<(double Degrees, double Ohms)> Ladder =
    [
        (0, 33_000), (22.5, 6_570), (45, 8_200), (67.5, 891), (90, 1_000), (112.5, 688), (135, 2_200), (157.5, 1_410),
        (180, 3_900), (202.5, 3_140), (225, 16_000), (247.5, 14_120), (270, 120_000), (292.5, 42_120), (315, 64_900), (337.5, 21_880),
    ];

    private readonly Mcp3008 _adc;
    private readonly int _channel;
    private readonly double _pullUpOhms;
    private readonly double _offsetDegrees;

    /// <param name="pullUpOhms">The fixed resistor between the reference voltage and the vane (10 kOhm on the usual boards).</param>
    /// <param name="offsetDegrees">Added to the vane's reading when it cannot be mounted pointing north.</param>
    public WindVaneSensor(Mcp3008 adc, int channel, double pullUpOhms = 10_000, double offsetDegrees = 0)
    {
        _adc = adc;
        _channel = channel;
        _pullUpOhms = pullUpOhms;
        _offsetDegrees = offsetDegrees;
        Description = string.Create(CultureInfo.InvariantCulture, $"wind vane on MCP3008 channel {channel} (SPI bus {adc.Device.ConnectionSettings.BusId}, CS {adc.Device.ConnectionSettings.ChipSelectLine})");
    }

    public static WindVaneSensor Open(int spiBus, int chipSelect, int channel, double pullUpOhms = 10_000, double offsetDegrees = 0)
    {
        try
        {
            var device = SpiDevice.Create(new SpiConnectionSettings(spiBus, chipSelect) { ClockFrequency = 1_000_000, Mode = SpiMode.Mode0 });
            return new WindVaneSensor(new Mcp3008(device), channel, pullUpOhms, offsetDegrees);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            throw new SensorException($"cannot open SPI bus {spiBus} chip select {chipSelect}: {e.Message}; enable SPI (raspi-config) and add the user to the 'spi' group");
        }
    }

    public string Description { get; }

    public IReadOnlyList<SensorReading> Read()
    {
        // A few samples: the vane can sit between two contacts for an instant.
        var sum = 0;
        for (var i = 0; i < 4; i++)
            sum += _adc.Read(_channel);
        var ratio = sum / 4.0 / 1023.0;
        if (!TryDirection(ratio, _pullUpOhms, out var degrees))
            throw new SensorException(string.Create(CultureInfo.InvariantCulture, $"{Description}: reads {ratio:P0} of full scale, which no vane position gives (open or shorted wiring?)"));
        return [new SensorReading("wind_direction", (degrees + _offsetDegrees + 360) % 360, "deg")];
    }

    /// <summary>The direction whose ladder voltage is nearest to <paramref name="ratio"/> (of the reference), if any is near.</summary>
    public static bool TryDirection(double ratio, double pullUpOhms, out double degrees)
    {
        degrees = 0;
        var best = double.MaxValue;
        foreach (var (direction, ohms) in Ladder)
        {
            var expected = ohms / (ohms + pullUpOhms);
            var distance = Math.Abs(expected - ratio);
            if (distance < best)
            {
                best = distance;
                degrees = direction;
            }
        }

        return best <= 0.04;
    }

    public void Dispose() => _adc.Dispose();
}
