using System.Globalization;
using System.Text.Json.Nodes;

namespace Grid.Edge.Hub.Intelligence.Alerts;

/// <summary>
/// A JSON-Logic evaluator (jsonlogic.com) for alert conditions, over numbers and booleans: var, comparisons (with
/// the three-argument "between" form of &lt; and &lt;=), and, or, !, !!, arithmetic, min, max, if, in, and one
/// custom operation as JSON-Logic allows: <c>{"rate": ["coolant_temp", 5]}</c>, the change per minute of a series
/// over the last 5 minutes. A missing or stale variable is null, and every comparison with null is false: a condition
/// over data that is not live never holds. Unknown operators are refused when a rule is loaded, not when it runs.
/// </summary>
public static class JsonLogic
{
    private static readonly HashSet<string> Operators = new(StringComparer.Ordinal)
    {
        "var", "==", "===", "!=", "!==", "<", "<=", ">", ">=", "and", "or", "!", "!!", "+", "-", "*", "/", "%", "min", "max", "if", "in", "abs", "rate",
    };

    /// <summary>The variable a rate reads: <c>rate:&lt;metric&gt;:&lt;minutes&gt;</c>, resolved by whoever supplies the variables.</summary>
    public static string RateVariable(string metric, double minutes) => string.Create(CultureInfo.InvariantCulture, $"rate:{metric}:{minutes}");

    /// <summary>Splits a rate variable back into its series and window; false for plain variables.</summary>
    public static bool TryParseRate(string variable, out string metric, out double minutes)
    {
        (metric, minutes) = (string.Empty, 0);
        var parts = variable.Split(':');
        if (parts.Length != 3 || parts[0] != "rate" || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out minutes))
            return false;
        metric = parts[1];
        return true;
    }

    /// <summary>Checks an expression's shape: known operators, at most 64 levels. Returns the problem, or null.</summary>
    public static string? Validate(JsonNode? node, int depth = 0)
    {
        if (depth > 64)
            return "the expression is nested too deeply";
        switch (node)
        {
            case null or JsonValue:
                return null;
            case JsonArray array:
                return array.Select(item => Validate(item, depth + 1)).FirstOrDefault(p => p is not null);
            case JsonObject obj when obj.Count == 1:
                var (op, args) = obj.First();
                if (!Operators.Contains(op))
                    return $"unknown operator '{op}' (use: {string.Join(' ', Operators.Order(StringComparer.Ordinal))})";
                if (op == "rate" && RateArguments(args) is null)
                    return "rate takes a series and a window in minutes (1 to 1440), like {\"rate\": [\"coolant_temp\", 5]}";
                return Validate(args, depth + 1);
            default:
                return "an operation is an object with exactly one operator, like {\">\": [{\"var\": \"temperature\"}, 30]}";
        }
    }

    /// <summary>The variable names an expression reads.</summary>
    public static IEnumerable<string> Variables(JsonNode? node) => node switch
    {
        JsonObject obj when obj.Count == 1 && obj.First().Key == "var" => [VariableName(obj.First().Value)],
        JsonObject obj when obj.Count == 1 && obj.First().Key == "rate" && RateArguments(obj.First().Value) is { } rate => [RateVariable(rate.Metric, rate.Minutes)],
        JsonObject obj => obj.SelectMany(p => Variables(p.Value)),
        JsonArray array => array.SelectMany(Variables),
        _ => [],
    };

    /// <summary>Evaluates to a double, a bool, a string or null.</summary>
    public static object? Evaluate(JsonNode? node, Func<string, double?> variables)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonValue value:
                return value.TryGetValue<bool>(out var b) ? b
                    : value.TryGetValue<double>(out var d) ? d
                    : value.TryGetValue<string>(out var s) ? s : null;
            case JsonArray array:
                return array.Select(item => Evaluate(item, variables)).ToList();
        }

        var (op, raw) = ((JsonObject)node).First();
        if (op == "var")
            return variables(VariableName(raw));
        if (op == "rate")
            return RateArguments(raw) is { } rate ? variables(RateVariable(rate.Metric, rate.Minutes)) : null;
        var args = raw is JsonArray list ? list.ToList() : [raw];
        object? Arg(int i) => i < args.Count ? Evaluate(args[i], variables) : null;
        List<object?> All() => args.Select(a => Evaluate(a, variables)).ToList();

        switch (op)
        {
            case "and":
                object? lastAnd = true;
                foreach (var a in args)
                {
                    lastAnd = Evaluate(a, variables);
                    if (!Truthy(lastAnd))
                        return lastAnd;
                }

                return lastAnd;
            case "or":
                object? lastOr = false;
                foreach (var a in args)
                {
                    lastOr = Evaluate(a, variables);
                    if (Truthy(lastOr))
                        return lastOr;
                }

                return lastOr;
            case "!":
                return !Truthy(Arg(0));
            case "!!":
                return Truthy(Arg(0));
            case "if":
                for (var i = 0; i + 1 < args.Count; i += 2)
                {
                    if (Truthy(Evaluate(args[i], variables)))
                        return Evaluate(args[i + 1], variables);
                }

                return args.Count % 2 == 1 ? Evaluate(args[^1], variables) : null;
            case "==" or "===":
                return Equal(Arg(0), Arg(1));
            case "!=" or "!==":
                return !Equal(Arg(0), Arg(1));
            case "<" or "<=" or ">" or ">=":
                var values = All();
                if (values.Any(v => v is not double))
                    return false;
                var numbers = values.Cast<double>().ToList();
                for (var i = 0; i + 1 < numbers.Count; i++)
                {
                    var holds = op switch
                    {
                        "<" => numbers[i] < numbers[i + 1],
                        "<=" => numbers[i] <= numbers[i + 1],
                        ">" => numbers[i] > numbers[i + 1],
                        _ => numbers[i] >= numbers[i + 1],
                    };
                    if (!holds)
                        return false;
                }

                return numbers.Count >= 2;
            case "+" or "*" or "min" or "max":
                var operands = All();
                if (operands.Count == 0 || operands.Any(v => v is not double))
                    return null;
                var doubles = operands.Cast<double>().ToList();
                return op switch
                {
                    "+" => doubles.Sum(),
                    "*" => doubles.Aggregate(1.0, (x, y) => x * y),
                    "min" => doubles.Min(),
                    _ => doubles.Max(),
                };
            case "-" or "/" or "%":
                if (Arg(0) is not double left)
                    return null;
                if (args.Count == 1 && op == "-")
                    return -left;
                if (Arg(1) is not double right || (op != "-" && right == 0))
                    return null;
                return op switch { "-" => left - right, "/" => left / right, _ => left % right };
            case "abs":
                return Arg(0) is double x ? Math.Abs(x) : null;
            case "in":
                return Arg(1) is List<object?> haystack && haystack.Any(item => Equal(item, Arg(0)));
            default:
                throw new InvalidOperationException($"unknown operator '{op}'");
        }
    }

    public static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        _ => true,
    };

    private static bool Equal(object? a, object? b) => a switch
    {
        null => b is null,
        double x when b is double y => x == y,
        _ => Equals(a, b),
    };

    private static (string Metric, double Minutes)? RateArguments(JsonNode? node) =>
        node is JsonArray { Count: 2 } array
        && array[0] is JsonValue metric && metric.TryGetValue<string>(out var name) && name.Length > 0 && !name.Contains(':', StringComparison.Ordinal)
        && array[1] is JsonValue window && window.TryGetValue<double>(out var minutes) && minutes is >= 1 and <= 1440
            ? (name, minutes)
            : null;

    private static string VariableName(JsonNode? node) => node switch
    {
        JsonArray array when array.Count > 0 => array[0]?.ToString() ?? string.Empty,
        JsonValue value => value.ToString(),
        _ => string.Empty,
    };

    public static string Describe(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
