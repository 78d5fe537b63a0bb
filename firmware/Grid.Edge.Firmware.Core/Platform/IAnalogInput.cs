namespace Grid.Edge.Firmware.Core.Platform;

/// <summary>An ADC channel already scaled to volts at the pin (the divider ratio is applied by the caller).</summary>
public interface IAnalogInput
{
    bool TryReadVolts(out double volts);
}
