namespace Grid.Edge.Obd.Frames;

/// <summary>
/// One complete answer from one ECU, frames reassembled: <see cref="Payload"/> starts with the response service
/// byte (0x41 for service 01, 0x7F for a negative response). <see cref="Ecu"/> is the header that sent it
/// ("7E8", "18DAF110", legacy source "10"), or empty when headers were off.
/// </summary>
public sealed record ObdMessage(string Ecu, byte[] Payload)
{
    public bool IsNegative => Payload.Length >= 3 && Payload[0] == 0x7F;

    /// <summary>For a negative response, the negative response code (0x11 service not supported, 0x22 conditions not correct, ...).</summary>
    public byte NegativeResponseCode => IsNegative ? Payload[2] : (byte)0;
}
