namespace Grid.Edge.Firmware.Core.Station;

/// <summary>What the last publish attempt came to; shown on the serial console and counted in tests.</summary>
public enum PublishOutcome
{
    NotDue = 0,
    Sent,
    NetworkUnavailable,
    BrokerUnavailable,
    NotAcknowledged,
    WaitingForClock,
    MemoryFailure,
}
