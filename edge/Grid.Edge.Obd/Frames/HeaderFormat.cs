namespace Grid.Edge.Obd.Frames;

/// <summary>How the adapter prints the start of each line, which depends on the protocol and ATH.</summary>
public enum HeaderFormat
{
    /// <summary>ATH0: data bytes only; multi-frame answers come as a length line and "n:" lines.</summary>
    None,

    /// <summary>ATH1 on CAN with 11-bit ids (protocols 6, 8, B, C): 3 hex digits, then the ISO-TP PCI byte.</summary>
    Can11,

    /// <summary>ATH1 on CAN with 29-bit ids (protocols 7, 9, A): 4 bytes, then the PCI byte.</summary>
    Can29,

    /// <summary>ATH1 on J1850 / ISO 9141 / KWP (protocols 1-5): priority, target, source, data, checksum.</summary>
    Legacy,
}
