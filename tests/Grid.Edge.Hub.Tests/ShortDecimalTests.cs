using System.Globalization;
using System.Text;
using CsCheck;
using Grid.Edge.Hub.Api;

namespace Grid.Edge.Hub.Tests;

/// <summary>The fast number text of the points answer must parse back to exactly the stored double.</summary>
public sealed class ShortDecimalTests
{
    private static void AssertRoundTrip(double value)
    {
        var buffer = new byte[32];
        if (!ShortDecimal.TryFormat(value, buffer, out var written))
            return; // written by the general formatter instead
        var text = Encoding.ASCII.GetString(buffer, 0, written);
        Assert.Matches(@"^-?\d+(\.\d+)?$", text);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData(21.5, "21.5")]
    [InlineData(-3.25, "-3.25")]
    [InlineData(0.05, "0.05")]
    [InlineData(-0.0001, "-0.0001")]
    [InlineData(1013, "1013")]
    [InlineData(0.0, "0")]
    [InlineData(100.1, "100.1")]
    public void Short_decimals_are_written_as_their_digits(double value, string expected)
    {
        var buffer = new byte[32];
        Assert.True(ShortDecimal.TryFormat(value, buffer, out var written));
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, written));
    }

    [Theory]
    [InlineData(-0.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e300)]
    [InlineData(0.1 + 0.2)]
    [InlineData(1e-7)]
    public void Anything_else_is_left_to_the_general_formatter(double value) =>
        Assert.False(ShortDecimal.TryFormat(value, new byte[32], out _));

    [Fact]
    public void Decimals_and_any_doubles_parse_back_bit_for_bit()
    {
        Gen.Select(Gen.Long[-10_000_000_000, 10_000_000_000], Gen.Int[0, 6]).Sample((k, d) => AssertRoundTrip(k / Math.Pow(10, d)), iter: 20_000);
        Gen.Double.Sample(AssertRoundTrip, iter: 20_000);
        Gen.Long.Select(BitConverter.Int64BitsToDouble).Sample(AssertRoundTrip, iter: 20_000);
    }
}
