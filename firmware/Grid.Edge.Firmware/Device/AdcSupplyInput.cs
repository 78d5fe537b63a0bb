using System.Device.Adc;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Device;

/// <summary>Battery voltage through a divider on an ADC1 pin (ADC2 is unusable while Wi-Fi runs).</summary>
internal sealed class AdcSupplyInput : IAnalogInput
{
    // ESP32 ADC1: channel number by GPIO.
    private static readonly int[] ChannelOfGpio = { 36, 0, 37, 1, 38, 2, 39, 3, 32, 4, 33, 5, 34, 6, 35, 7 };

    // With 11 dB attenuation the ESP32 ADC reads up to about 3.1 V.
    private const double FullScaleVolts = 3.1;

    private readonly AdcChannel _channel;

    public AdcSupplyInput(int gpio)
    {
        var channel = -1;
        for (var i = 0; i < ChannelOfGpio.Length; i += 2)
        {
            if (ChannelOfGpio[i] == gpio)
                channel = ChannelOfGpio[i + 1];
        }

        if (channel >= 0)
            _channel = new AdcController().OpenChannel(channel);
    }

    public bool TryReadVolts(out double volts)
    {
        volts = 0;
        if (_channel == null)
            return false;
        // Average a few conversions: the ESP32 ADC is noisy.
        double sum = 0;
        for (var i = 0; i < 8; i++)
            sum += _channel.ReadRatio();
        volts = sum / 8 * FullScaleVolts;
        return true;
    }
}
