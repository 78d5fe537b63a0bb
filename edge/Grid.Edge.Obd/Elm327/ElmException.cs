namespace Grid.Edge.Obd.Elm327;

/// <summary>Why talking to the adapter or the vehicle failed, in words a person setting it up can act on.</summary>
public enum ElmFailure
{
    /// <summary>The serial device or TCP address cannot be opened.</summary>
    AdapterUnreachable,

    /// <summary>Nothing came back at all to the reset (ATZ, sent twice): not powered, not this device, or deaf at this speed.</summary>
    NoAnswer,

    /// <summary>Bytes came back, but not text: a serial adapter set to another baud rate sends this.</summary>
    Unreadable,

    /// <summary>Something answers in text, but not like an ELM327 (no banner to ATZ or ATI, refuses basic AT commands).</summary>
    NotAnElm327,

    /// <summary>The adapter stopped answering or the link closed (unplugged, out of Bluetooth range).</summary>
    AdapterLost,

    /// <summary>The adapter works but no vehicle protocol answered (ignition off, or not an OBD-II vehicle).</summary>
    VehicleNotResponding,
}

public sealed class ElmException(ElmFailure failure, string message) : Exception(message)
{
    public ElmFailure Failure { get; } = failure;
}
