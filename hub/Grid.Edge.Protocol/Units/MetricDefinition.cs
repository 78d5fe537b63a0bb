namespace Grid.Edge.Protocol.Units;

/// <summary>
/// A metric the hub knows: its canonical unit, the other units it converts from, and the physically
/// plausible range in the canonical unit (readings outside it come from a broken sensor).
/// </summary>
internal sealed record MetricDefinition(
    string Name,
    string Unit,
    string Description,
    double Min,
    double Max,
    IReadOnlyList<UnitConversion> Conversions)
{
    public const int ConvertedDecimals = 4;

    /// <summary>Converts <paramref name="value"/> in <paramref name="unit"/> to the canonical unit.</summary>
    public bool TryConvert(double value, string unit, out double canonical)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (unit.Length == 0 || string.Equals(unit, Unit, StringComparison.Ordinal))
        {
            canonical = value;
            return true;
        }

        foreach (var conversion in Conversions)
        {
            if (string.Equals(conversion.FromUnit, unit, StringComparison.Ordinal))
            {
                // Sensors do not resolve 1e-4 of a canonical unit; rounding keeps converted series compressible.
                canonical = Math.Round(conversion.Apply(value), ConvertedDecimals, MidpointRounding.AwayFromZero);
                return true;
            }
        }

        canonical = double.NaN;
        return false;
    }

    public IEnumerable<string> AcceptedUnits => Conversions.Select(c => c.FromUnit).Prepend(Unit);
}
