namespace Grid.Edge.Obd.Elm327;

/// <summary>What the adapter said besides data (ELM327 data sheet, "Error Messages and Alerts").</summary>
public enum ElmStatus
{
    /// <summary>Data lines (or OK) and no error text.</summary>
    Ok,

    /// <summary>NO DATA: nothing answered within the timeout (PID not supported, or the ECU is asleep).</summary>
    NoData,

    /// <summary>UNABLE TO CONNECT / BUS INIT ... ERROR / NOT CONNECTED: no protocol found, usually ignition off.</summary>
    UnableToConnect,

    /// <summary>CAN ERROR, BUS ERROR, BUS BUSY, FB ERROR: the bus itself failed (wrong protocol, wiring).</summary>
    BusError,

    /// <summary>DATA ERROR, BUFFER FULL, RX ERROR: the answer was damaged; retrying may help.</summary>
    DataError,

    /// <summary>STOPPED: the adapter was interrupted by a character sent too early.</summary>
    Stopped,

    /// <summary>? : the adapter did not understand the command.</summary>
    Unknown,

    /// <summary>LV RESET, ERRxx, ACT/LP ALERT: the adapter reset or is going to sleep; it must be set up again.</summary>
    AdapterReset,
}
