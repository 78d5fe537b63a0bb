namespace Grid.Edge.Hub.Replication.Wire;

/// <summary>
/// RFC 4648 base32 in lower case without padding: the printable form of ids and invitation codes. It survives
/// being read aloud, typed on a phone and pasted through a terminal (no case, no symbols, no 0/O or 1/l pairs).
/// </summary>
internal static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var chars = new char[(data.Length * 8 + 4) / 5];
        int bits = 0, buffer = 0, at = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[at++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
            chars[at++] = Alphabet[(buffer << (5 - bits)) & 31];
        return new string(chars, 0, at);
    }

    /// <summary>
    /// Decodes strictly: upper case is accepted (people type it), but no padding, no other characters, and the
    /// unused low bits of the last character must be zero, so every byte string has exactly one printable form.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] data)
    {
        data = [];
        if (text.Length * 5 % 8 >= 5)
            return false;
        var result = new byte[text.Length * 5 / 8];
        int bits = 0, buffer = 0, at = 0;
        foreach (var c in text)
        {
            var v = c switch
            {
                >= 'a' and <= 'z' => c - 'a',
                >= 'A' and <= 'Z' => c - 'A',
                >= '2' and <= '7' => c - '2' + 26,
                _ => -1,
            };
            if (v < 0)
                return false;
            buffer = ((buffer << 5) | v) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                result[at++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }

        if (bits > 0 && (buffer & ((1 << bits) - 1)) != 0)
            return false;
        data = result;
        return true;
    }
}
