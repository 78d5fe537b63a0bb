namespace Grid.Edge.Simulation.Obd;

/// <summary>
/// What a UART set to one speed reads from a line driven at another: the bytes are framed as the sender sends them
/// (start bit, 8 data bits least significant first, stop bit, 8N1, back to back) and sampled as the receiver samples
/// them (a start bit wherever the line is low, then each bit in its middle at the receiver's own pace). A pseudo-terminal
/// carries bytes at no speed at all, so the simulated adapter passes what crosses a mismatched line through this: what
/// it hears and what the client reads back are then the garbage a real mismatch gives, not a made-up stand-in.
/// Framing errors deliver the byte as sampled (a Linux tty without INPCK does the same).
/// </summary>
internal static class UartLine
{
    public static byte[] Resample(ReadOnlySpan<byte> sent, int sentRate, int readRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sentRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(readRate);
        if (sentRate == readRate)
            return sent.ToArray();

        var bits = new bool[sent.Length * 10];
        for (var i = 0; i < sent.Length; i++)
        {
            bits[i * 10] = false; // start
            for (var b = 0; b < 8; b++)
                bits[(i * 10) + 1 + b] = ((sent[i] >> b) & 1) == 1;
            bits[(i * 10) + 9] = true; // stop
        }

        // Time in units of 1 / (2 * sentRate * readRate) s: a sent bit lasts 2 * readRate units, half a read bit sentRate units.
        long sentBit = 2L * readRate;
        long halfReadBit = sentRate;
        bool Line(long time)
        {
            var index = time / sentBit;
            return index >= bits.Length || bits[index]; // idle is high
        }

        var read = new List<byte>();
        long now = 0;
        while (true)
        {
            long start;
            if (!Line(now))
            {
                start = now;
            }
            else
            {
                var index = (now / sentBit) + 1;
                while (index < bits.Length && bits[index])
                    index++;
                if (index >= bits.Length)
                    break;
                start = index * sentBit;
            }

            var value = 0;
            for (var b = 0; b < 8; b++)
            {
                if (Line(start + (halfReadBit * ((2 * b) + 3))))
                    value |= 1 << b;
            }

            read.Add((byte)value);
            now = start + (halfReadBit * 19); // the middle of the stop bit: from there the receiver looks for the next start
        }

        return [.. read];
    }
}
