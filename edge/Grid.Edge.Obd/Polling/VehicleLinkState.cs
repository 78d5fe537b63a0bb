namespace Grid.Edge.Obd.Polling;

/// <summary>Where the reader is with the adapter and the vehicle.</summary>
public enum VehicleLinkState
{
    /// <summary>Opening the adapter or waiting to reconnect.</summary>
    Disconnected,

    /// <summary>Resetting the adapter and searching the vehicle's protocol.</summary>
    Initialising,

    /// <summary>Polling PIDs.</summary>
    Running,

    /// <summary>The adapter answers but the vehicle does not: ignition off. Battery voltage is still read.</summary>
    IgnitionOff,
}
