using System.Text.Json.Nodes;
using CsCheck;
using Grid.Edge.Hub.Intelligence.Alerts;
using Microsoft.Extensions.Time.Testing;

namespace Grid.Edge.Hub.Intelligence.Tests;

public sealed class JsonLogicTests
{
    private static object? Eval(string json, Dictionary<string, double?>? vars = null) =>
        JsonLogic.Evaluate(JsonNode.Parse(json), name => vars?.GetValueOrDefault(name));

    [Theory]
    [InlineData("""{">": [{"var": "t"}, 30]}""", true)]
    [InlineData("""{"<": [{"var": "t"}, 30]}""", false)]
    [InlineData("""{"<": [20, {"var": "t"}, 40]}""", true)]
    [InlineData("""{"<=": [31, {"var": "t"}, 31]}""", true)]
    [InlineData("""{"and": [{">": [{"var": "t"}, 30]}, {"<": [{"var": "h"}, 50]}]}""", true)]
    [InlineData("""{"or": [{">": [{"var": "t"}, 40]}, {"==": [{"var": "h"}, 40]}]}""", true)]
    [InlineData("""{"!": {">": [{"var": "t"}, 40]}}""", true)]
    [InlineData("""{">": [{"-": [{"var": "t"}, {"var": "h"}]}, -10]}""", true)]
    [InlineData("""{"<": [{"abs": {"-": [{"var": "h"}, 41]}}, 2]}""", true)]
    [InlineData("""{"in": [{"var": "t"}, [30, 31, 32]]}""", true)]
    [InlineData("""{"if": [{">": [{"var": "t"}, 40]}, false, {">": [{"var": "t"}, 30]}, true, false]}""", true)]
    public void Expressions_evaluate_as_JSON_Logic(string json, bool expected) =>
        Assert.Equal(expected, JsonLogic.Truthy(Eval(json, new() { ["t"] = 31, ["h"] = 40 })));

    [Theory]
    [InlineData("""{">": [{"var": "missing"}, 0]}""")]
    [InlineData("""{"<": [{"var": "missing"}, 0]}""")]
    [InlineData("""{"==": [{"var": "missing"}, 0]}""")]
    [InlineData("""{"<": [{"+": [{"var": "missing"}, 1]}, 100]}""")]
    public void A_missing_or_stale_value_never_satisfies_a_comparison(string json) =>
        Assert.False(JsonLogic.Truthy(Eval(json)));

    [Theory]
    [InlineData("""{"exec": ["rm"]}""", "unknown operator 'exec'")]
    [InlineData("""{">": [1, 2], "<": [1, 2]}""", "exactly one operator")]
    public void Bad_expressions_are_refused_when_loaded(string json, string problem) =>
        Assert.Contains(problem, JsonLogic.Validate(JsonNode.Parse(json)), StringComparison.Ordinal);

    [Fact]
    public void Random_expressions_keep_the_laws_of_logic_and_arithmetic()
    {
        var number = Gen.Double[-100, 100].Select(d => (JsonNode?)JsonValue.Create(d));
        var leaf = Gen.OneOf(number, Gen.Const((JsonNode?)new JsonObject { ["var"] = "t" }), Gen.Const((JsonNode?)null), Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)));
        var op = Gen.OneOf(Gen.Const("<"), Gen.Const(">="), Gen.Const("and"), Gen.Const("or"), Gen.Const("!"), Gen.Const("+"), Gen.Const("/"), Gen.Const("if"), Gen.Const("min"), Gen.Const("-"));
        var inner = Gen.Select(op, leaf.Array[0, 4]).Select((o, args) => (JsonNode?)Node(o, args));
        var expression = Gen.Select(op, Gen.OneOf(leaf, inner).Array[0, 4]).Select((o, args) => Node(o, args));
        Gen.Select(expression, Gen.Double[-100, 100], Gen.Bool).Sample((node, t, known) =>
        {
            Assert.Null(JsonLogic.Validate(node));
            double? value = known ? t : null;
            var result = JsonLogic.Evaluate(node, name => name == "t" ? value : null);

            // A variable means its value: the expression with the value written in evaluates the same.
            Assert.Equal(Describe(result), Describe(JsonLogic.Evaluate(Substitute(node, value), _ => throw new InvalidOperationException("no variables left"))));

            // Negation is the opposite truth.
            Assert.Equal(!JsonLogic.Truthy(result), JsonLogic.Truthy(JsonLogic.Evaluate(new JsonObject { ["!"] = new JsonArray(node.DeepClone()) }, _ => value)));

            // Operands that are not numbers: comparisons are false and arithmetic has no value; numbers: C#'s answer.
            var o = node.First().Key;
            var operands = ((JsonArray)node[o]!).Select(a => JsonLogic.Evaluate(a, _ => value)).ToList();
            var numbers = operands.OfType<double>().ToList();
            var allNumbers = numbers.Count == operands.Count;
            object? expected = o switch
            {
                "<" => allNumbers && numbers.Count >= 2 && numbers.Zip(numbers.Skip(1)).All(p => p.First < p.Second),
                ">=" => allNumbers && numbers.Count >= 2 && numbers.Zip(numbers.Skip(1)).All(p => p.First >= p.Second),
                "+" => allNumbers && numbers.Count > 0 ? numbers.Sum() : null,
                "min" => allNumbers && numbers.Count > 0 ? numbers.Min() : null,
                "-" when operands.Count == 1 => operands[0] is double x ? -x : null,
                "-" => operands is [double a, double b, ..] ? a - b : null,
                "/" => operands is [double a, double b, ..] && b != 0 ? a / b : null,
                "and" => operands.All(JsonLogic.Truthy),
                "or" => operands.Any(JsonLogic.Truthy),
                "!" => !JsonLogic.Truthy(operands.FirstOrDefault()),
                _ => result, // "if": the branch chosen is covered by the laws above
            };
            if (o is "and" or "or")
                Assert.Equal(expected, JsonLogic.Truthy(result));
            else
                Assert.Equal(Describe(expected), Describe(result));
        }, iter: 20_000);
    }

    private static JsonObject Node(string op, JsonNode?[] args) => new() { [op] = new JsonArray(args.Select(a => a?.DeepClone()).ToArray()) };

    /// <summary>The expression with every {"var": "t"} replaced by the value (null when the value is missing).</summary>
    private static JsonNode? Substitute(JsonNode? node, double? value) => node switch
    {
        JsonObject o when o.ContainsKey("var") => value is { } v ? JsonValue.Create(v) : null,
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, Substitute(p.Value, value)))),
        JsonArray a => new JsonArray(a.Select(item => Substitute(item, value)).ToArray()),
        _ => node?.DeepClone(),
    };

    private static string Describe(object? value) => value switch
    {
        null => "null",
        double d => "number " + BitConverter.DoubleToInt64Bits(d).ToString(System.Globalization.CultureInfo.InvariantCulture),
        bool b => "bool " + b,
        _ => value.GetType().Name + " " + value,
    };
}

public sealed class AlertEngineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, Latest> _values = [];

    private Func<string, Latest?> Lookup => name => _values.TryGetValue(name, out var v) ? v : null;

    private void Set(string metric, double value, TimeSpan? age = null) =>
        _values[metric] = new Latest(value, (_time.GetUtcNow() - (age ?? TimeSpan.Zero)).ToUnixTimeMilliseconds());

    private static AlertRule Coolant => new()
    {
        Id = "coolant-hot",
        Title = "Coolant over temperature",
        Severity = "critical",
        When = JsonNode.Parse("""{">=": [{"var": "coolant_temp"}, 105]}"""),
        ClearWhen = JsonNode.Parse("""{"<": [{"var": "coolant_temp"}, 100]}"""),
        For = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public void Hysteresis_keeps_an_alert_from_flapping_and_the_minimum_duration_holds()
    {
        var engine = new AlertEngine([Coolant], _time);
        Set("coolant_temp", 106);
        Assert.Empty(engine.Evaluate("van", Lookup, _time.GetUtcNow()));        // pending: not 30 s yet
        _time.Advance(TimeSpan.FromSeconds(20));
        Set("coolant_temp", 104);                                             // dropped below the trigger: pending restarts
        Assert.Empty(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        Set("coolant_temp", 106);
        Assert.Empty(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(31));
        Set("coolant_temp", 107);
        var fired = Assert.Single(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        Assert.Equal(AlertState.Firing, fired.State);
        Assert.Equal(107, fired.Values["coolant_temp"]);

        // Oscillating between 101 and 106 never resolves and never fires again.
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Set("coolant_temp", i % 2 == 0 ? 101 : 106);
            Assert.Empty(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        }

        Set("coolant_temp", 98);
        var resolved = Assert.Single(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        Assert.Equal(AlertState.Resolved, resolved.State);
        Assert.Empty(engine.Active);
        Assert.Single(engine.History);
    }

    [Fact]
    public void Acknowledging_keeps_the_alert_until_it_clears()
    {
        var rule = Coolant with { For = TimeSpan.Zero };
        var engine = new AlertEngine([rule], _time);
        Set("coolant_temp", 110);
        engine.Evaluate("van", Lookup, _time.GetUtcNow());
        Assert.Equal(AlertState.Acknowledged, engine.Acknowledge("coolant-hot", "van")!.State);
        Assert.Null(engine.Acknowledge("coolant-hot", "weather"));
        Assert.Empty(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        Assert.Equal(AlertState.Acknowledged, Assert.Single(engine.Active).State);
        Set("coolant_temp", 90);
        var resolved = Assert.Single(engine.Evaluate("van", Lookup, _time.GetUtcNow()));
        Assert.NotNull(resolved.AcknowledgedAt);
        Assert.Equal(AlertState.Resolved, resolved.State);
    }

    [Fact]
    public void A_silent_device_fires_a_staleness_alert_that_resolves_when_it_reports_again()
    {
        var stale = new AlertRule { Id = "device-stale", Title = "Device silent", NoDataFor = TimeSpan.FromMinutes(30) };
        var engine = new AlertEngine([stale], _time);
        var heard = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.Empty(engine.Evaluate("weather", Lookup, heard));
        _time.Advance(TimeSpan.FromMinutes(2));
        var fired = Assert.Single(engine.Evaluate("weather", Lookup, heard));
        Assert.Equal(31, fired.Values["silent_minutes"]);
        Assert.Equal(AlertState.Resolved, Assert.Single(engine.Evaluate("weather", Lookup, _time.GetUtcNow())).State);
    }

    [Fact]
    public void Stale_values_are_never_evaluated_as_live_and_backfilled_history_fires_nothing()
    {
        var frost = new AlertRule { Id = "frost", Title = "Frost", When = JsonNode.Parse("""{"<=": [{"var": "temperature"}, 0]}"""), StaleAfter = TimeSpan.FromMinutes(15) };
        var engine = new AlertEngine([frost], _time);

        // A day of backfilled history ending two hours ago, freezing: its latest value is old, so no alert.
        Set("temperature", -4, TimeSpan.FromHours(2));
        Assert.Empty(engine.Evaluate("weather", Lookup, _time.GetUtcNow() - TimeSpan.FromHours(2)));

        // Live now, still freezing: fires once.
        Set("temperature", -1);
        Assert.Equal(AlertState.Firing, Assert.Single(engine.Evaluate("weather", Lookup, _time.GetUtcNow())).State);

        // The station goes quiet: the value turns stale; the alert neither resolves (unknown) nor fires again.
        _time.Advance(TimeSpan.FromMinutes(20));
        Assert.Empty(engine.Evaluate("weather", Lookup, _time.GetUtcNow() - TimeSpan.FromMinutes(20)));
        Assert.Single(engine.Active);
    }

    [Fact]
    public void Rules_apply_only_to_matching_devices_that_have_the_required_series()
    {
        var rule = Coolant with { For = TimeSpan.Zero, Devices = "van*", Requires = ["coolant_temp"] };
        var engine = new AlertEngine([rule], _time);
        Set("coolant_temp", 120);
        Assert.Empty(engine.Evaluate("weather", Lookup, _time.GetUtcNow()));
        Assert.Single(engine.Evaluate("van-2", Lookup, _time.GetUtcNow()));
        Assert.Empty(new AlertEngine([rule], _time).Evaluate("van-3", _ => null, _time.GetUtcNow()));
    }

    [Fact]
    public void Invalid_rules_say_what_is_wrong()
    {
        Assert.Contains(new AlertRule { Id = "x", Title = "x" }.Validate(), p => p.Contains("either When", StringComparison.Ordinal));
        Assert.Contains(new AlertRule { Id = "x y", Title = "x", When = JsonNode.Parse("true") }.Validate(), p => p.Contains("must be 1-64", StringComparison.Ordinal));
        Assert.Contains(new AlertRule { Id = "x", Title = "x", Severity = "panic", When = JsonNode.Parse("true") }.Validate(), p => p.Contains("Severity", StringComparison.Ordinal));
        Assert.Contains(new AlertRule { Id = "x", Title = "x", When = JsonNode.Parse("""{"eval": 1}""") }.Validate(), p => p.Contains("unknown operator", StringComparison.Ordinal));
        Assert.Empty(Coolant.Validate());
    }
}
