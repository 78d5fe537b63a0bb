namespace Grid.Edge.Protocol.Units;

/// <summary>A linear conversion into a canonical unit: <c>canonical = value * Scale + Offset</c>.</summary>
internal readonly record struct UnitConversion(string FromUnit, string ToUnit, double Scale, double Offset)
{
    public double Apply(double value) => value * Scale + Offset;
}
