namespace Grid.Edge.Devices.Sensors;

/// <summary>A value a sensor produced, named by the hub's metric catalogue, in the unit given.</summary>
public readonly record struct SensorReading(string Metric, double Value, string Unit);

/// <summary>
/// A sensor the agent reads on a schedule. <see cref="Read"/> returns what is new since the last call (pulse
/// counters report what they counted meanwhile). It throws <see cref="SensorException"/> with a reason a person can
/// act on when the part does not answer.
/// </summary>
public interface ISensor : IDisposable
{
    /// <summary>For messages: "BME280 on I2C bus 1 at 0x76".</summary>
    string Description { get; }

    IReadOnlyList<SensorReading> Read();
}

public sealed class SensorException(string message) : Exception(message);
