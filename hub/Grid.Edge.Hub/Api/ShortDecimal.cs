using System.Buffers.Text;

namespace Grid.Edge.Hub.Api;

/// <summary>
/// Writes values that are short decimals (<c>21.5</c>, <c>1013.25</c>) as the digits of a scaled integer, several
/// times faster than general shortest round-trip formatting; most sensor values are such decimals. The text parses
/// back to the same double: it and the stored value are both the correctly rounded value of the same fraction.
/// </summary>
internal static class ShortDecimal
{
    private const int MaxDecimals = 4;

    public static bool TryFormat(double value, Span<byte> destination, out int written)
    {
        written = 0;
        for (var decimals = 0; decimals <= MaxDecimals; decimals++)
        {
            // The store's codec asks the same question of every value it compresses.
            if (Storage.Compression.ChunkCodec.TryScale(value, decimals, out var k))
                return TryWrite(k, decimals, destination, out written);
        }

        return false;
    }

    private static bool TryWrite(long k, int decimals, Span<byte> destination, out int written)
    {
        written = 0;
        Span<byte> digits = stackalloc byte[24];
        var negative = k < 0;
        if (!Utf8Formatter.TryFormat(negative ? -k : k, digits, out var count))
            return false;

        // At least one digit before the point: 5 at two decimals is 0.05.
        var padded = Math.Max(count, decimals + 1);
        var length = (negative ? 1 : 0) + padded + (decimals > 0 ? 1 : 0);
        if (length > destination.Length)
            return false;
        var at = 0;
        if (negative)
            destination[at++] = (byte)'-';
        for (var i = 0; i < padded; i++)
        {
            if (decimals > 0 && i == padded - decimals)
                destination[at++] = (byte)'.';
            var source = i - (padded - count);
            destination[at++] = source >= 0 ? digits[source] : (byte)'0';
        }

        written = at;
        return true;
    }
}
