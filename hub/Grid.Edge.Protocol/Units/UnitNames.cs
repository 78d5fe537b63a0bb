using System.Collections.Frozen;

namespace Grid.Edge.Protocol.Units;

/// <summary>
/// Spellings of units. Devices write "°C", "C", "celsius" or "degC"; we keep one spelling per unit so that
/// series never split over notation.
/// </summary>
public static class UnitNames
{
    public const int MaxLength = 16;

    private static readonly FrozenDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["degC"] = "degC", ["°C"] = "degC", ["C"] = "degC", ["celsius"] = "degC", ["℃"] = "degC",
        ["degF"] = "degF", ["°F"] = "degF", ["F"] = "degF", ["fahrenheit"] = "degF", ["℉"] = "degF",
        ["K"] = "K", ["kelvin"] = "K",
        ["%"] = "%", ["percent"] = "%", ["%RH"] = "%",
        ["hPa"] = "hPa", ["mbar"] = "hPa", ["mb"] = "hPa",
        ["Pa"] = "Pa", ["kPa"] = "kPa", ["inHg"] = "inHg", ["mmHg"] = "mmHg", ["psi"] = "psi", ["bar"] = "bar",
        ["m/s"] = "m/s", ["mps"] = "m/s",
        ["km/h"] = "km/h", ["kph"] = "km/h", ["kmh"] = "km/h",
        ["mph"] = "mph", ["kn"] = "kn", ["kt"] = "kn", ["knots"] = "kn",
        ["deg"] = "deg", ["°"] = "deg", ["degrees"] = "deg",
        ["mm"] = "mm", ["in"] = "in", ["inch"] = "in", ["cm"] = "cm",
        ["mm/h"] = "mm/h", ["in/h"] = "in/h",
        ["km"] = "km", ["mi"] = "mi", ["m"] = "m",
        ["rpm"] = "rpm", ["1/min"] = "rpm",
        ["V"] = "V", ["mV"] = "mV",
        ["L/h"] = "L/h", ["l/h"] = "L/h", ["gal/h"] = "gal/h",
        ["g/s"] = "g/s", ["kg/h"] = "kg/h",
        ["lux"] = "lux", ["lx"] = "lux",
        ["s"] = "s", ["ms"] = "ms", ["min"] = "min", ["h"] = "h",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The one spelling we use for <paramref name="unit"/>, or the trimmed input if we do not know it.</summary>
    public static string Normalize(string unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        var trimmed = unit.Trim();
        return Aliases.TryGetValue(trimmed, out var canonical) ? canonical : trimmed;
    }

    /// <summary>Declared units are short printable text; anything else is a broken payload.</summary>
    public static bool IsAcceptable(string unit, out string? error)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (unit.Length > MaxLength)
        {
            error = $"unit is longer than {MaxLength} characters";
            return false;
        }

        foreach (var c in unit)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                error = "unit contains whitespace or control characters";
                return false;
            }
        }

        error = null;
        return true;
    }
}
