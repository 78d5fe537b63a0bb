namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>The factory trimming words of one BME280/BMP280 (data sheet section 4.2.2).</summary>
public sealed class Bme280Calibration
{
    public int T1 { get; private set; }
    public int T2 { get; private set; }
    public int T3 { get; private set; }
    public long P1 { get; private set; }
    public long P2 { get; private set; }
    public long P3 { get; private set; }
    public long P4 { get; private set; }
    public long P5 { get; private set; }
    public long P6 { get; private set; }
    public long P7 { get; private set; }
    public long P8 { get; private set; }
    public long P9 { get; private set; }
    public int H1 { get; private set; }
    public int H2 { get; private set; }
    public int H3 { get; private set; }
    public int H4 { get; private set; }
    public int H5 { get; private set; }
    public int H6 { get; private set; }

    /// <summary>
    /// Reads the words from the 0x88..0xA1 block (26 bytes) and, for a BME280, the 0xE1..0xE7 block (7 bytes).
    /// False when the block is all 0x00 or all 0xFF, or T1/P1 are zero: no sensor answered, or the bus is broken.
    /// </summary>
    public bool Load(byte[] block88, byte[] blockE1, bool hasHumidity)
    {
        if (block88.Length < 26 || IsBlank(block88, 24))
            return false;

        T1 = U16(block88, 0);
        T2 = S16(block88, 2);
        T3 = S16(block88, 4);
        P1 = U16(block88, 6);
        P2 = S16(block88, 8);
        P3 = S16(block88, 10);
        P4 = S16(block88, 12);
        P5 = S16(block88, 14);
        P6 = S16(block88, 16);
        P7 = S16(block88, 18);
        P8 = S16(block88, 20);
        P9 = S16(block88, 22);
        if (T1 == 0 || P1 == 0)
            return false;

        if (!hasHumidity)
        {
            H1 = H2 = H3 = H4 = H5 = H6 = 0;
            return true;
        }

        if (blockE1.Length < 7)
            return false;
        H1 = block88[25];
        H2 = S16(blockE1, 0);
        H3 = blockE1[2];
        // H4 and H5 share 0xE5: the sign lives in the whole bytes 0xE4 / 0xE6, the nibbles of 0xE5 are the low bits.
        H4 = ((sbyte)blockE1[3] * 16) | (blockE1[4] & 0x0F);
        H5 = ((sbyte)blockE1[5] * 16) | (blockE1[4] >> 4);
        H6 = (sbyte)blockE1[6];
        return true;
    }

    private static int U16(byte[] bytes, int at) => bytes[at] | (bytes[at + 1] << 8);

    private static int S16(byte[] bytes, int at) => (short)(bytes[at] | (bytes[at + 1] << 8));

    private static bool IsBlank(byte[] bytes, int count)
    {
        var allZero = true;
        var allOnes = true;
        for (var i = 0; i < count; i++)
        {
            if (bytes[i] != 0x00)
                allZero = false;
            if (bytes[i] != 0xFF)
                allOnes = false;
        }

        return allZero || allOnes;
    }
}
