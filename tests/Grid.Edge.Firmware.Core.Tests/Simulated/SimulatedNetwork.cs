using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Tests.Simulated;

internal sealed class SimulatedNetwork : INetwork
{
    public bool Available { get; set; } = true;

    public int Attempts { get; private set; }

    public int SignalStrength { get; set; } = -67;

    public bool Connect(int timeoutMilliseconds)
    {
        Attempts++;
        return Available;
    }

    public void Disconnect()
    {
    }
}

/// <summary>Anemometer pulses: a fixed number per second, or a scripted sequence.</summary>
internal sealed class SimulatedPulses : IPulseSource
{
    private int _next;

    public int[] PerSecond { get; set; } = [3];

    public void StartCounting()
    {
    }

    public int TakeCount()
    {
        var value = PerSecond[_next % PerSecond.Length];
        _next++;
        return value;
    }

    public void StopCounting() => _next = 0;
}

internal sealed class SimulatedAdc : IAnalogInput
{
    public double Volts { get; set; } = 1.95;

    public bool TryReadVolts(out double volts)
    {
        volts = Volts;
        return true;
    }
}

/// <summary>An MQTT link that keeps what it is given and acknowledges unless told not to; allocates nothing when capture is off.</summary>
internal sealed class CapturingLink : IMqttLink
{
    public bool Reachable { get; set; } = true;

    public bool Acknowledge { get; set; } = true;

    public bool Capture { get; set; } = true;

    public List<string> Payloads { get; } = [];

    public int Published { get; private set; }

    public bool Connect() => Reachable;

    public bool PublishAcknowledged(string topic, byte[] payload, int length, bool retain)
    {
        Published++;
        if (Capture)
            Payloads.Add(System.Text.Encoding.ASCII.GetString(payload, 0, length));
        return Acknowledge;
    }

    public void Disconnect()
    {
    }
}
