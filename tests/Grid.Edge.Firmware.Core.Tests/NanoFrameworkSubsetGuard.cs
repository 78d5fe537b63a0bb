using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Grid.Edge.Firmware.Core.Tests;

/// <summary>
/// Finds C# constructs in source text that the nanoFramework runtime and class library do not have, so the
/// portable core keeps building for the ESP32 even though that build cannot run here.
/// </summary>
internal static class NanoFrameworkSubsetGuard
{
    /// <summary>Every rule, with the reason the construct is out.</summary>
    public static readonly IReadOnlyDictionary<string, string> Rules = new Dictionary<string, string>
    {
        ["linq"] = "LINQ (System.Linq, query syntax): nanoFramework has no System.Linq",
        ["async"] = "async/await: nanoFramework has no Task-based asynchrony; use threads and events",
        ["task"] = "Task/ValueTask/System.Threading.Tasks: not in nanoFramework's class library",
        ["json"] = "System.Text.Json: not available; the core writes its JSON by hand",
        ["record"] = "records (and 'with'): need init-only setters and generic IEquatable<T>",
        ["span"] = "Span<T>/Memory<T>/stackalloc: nanoFramework has only SpanByte; use byte[] with offsets",
        ["generic"] = "generic types and methods (List<T>, Dictionary<K,V>...): no generic collections on nanoFramework",
        ["interpolation"] = "string interpolation: allocates, and needs DefaultInterpolatedStringHandler which nanoFramework lacks",
        ["tuple"] = "tuples: System.ValueTuple is not in nanoFramework's mscorlib",
        ["decimal"] = "decimal: nanoFramework has no System.Decimal arithmetic",
        ["dynamic"] = "dynamic: no dynamic language runtime",
        ["init"] = "init accessors and required members: need IsExternalInit / RequiredMemberAttribute",
        ["byref-like"] = "ref struct, in parameters, ref readonly: need attributes the nanoFramework metadata processor rejects",
        ["unsafe"] = "unsafe code and pointers: not supported by the nanoFramework interpreter",
        ["iterator"] = "yield iterators: compile to generic IEnumerable<T> state machines",
        ["default-interface-member"] = "interface members with bodies or static abstract members: not supported by the runtime",
        ["index-range"] = "^ indexes and .. ranges: need System.Index / System.Range",
        ["collection-expression"] = "collection expressions [..]: may bind to spans or collection builders; write new T[] { }",
        ["missing-api"] = "API missing from nanoFramework's class library",
    };

    // Types the host has that nanoFramework does not (or only in a package the firmware does not reference).
    private static readonly HashSet<string> MissingTypes = new(StringComparer.Ordinal)
    {
        "Linq", "Tasks", "Task", "ValueTask", "Json", "JsonSerializer", "Span", "ReadOnlySpan", "Memory", "ReadOnlyMemory",
        "DateTimeOffset", "TimeProvider", "Stopwatch", "Environment", "Buffer", "BinaryPrimitives", "MemoryMarshal",
        "Unsafe", "StringBuilder", "Regex", "ArrayPool",
    };

    // Static members newer .NET added to types nanoFramework does have.
    private static readonly HashSet<string> MissingMembers = new(StringComparer.Ordinal)
    {
        "Math.Clamp", "Array.Fill", "Array.Empty", "Array.Resize", "double.IsFinite", "Double.IsFinite", "string.Create",
        "String.Create", "Math.FusedMultiplyAdd", "BitConverter.ToHexString", "Convert.ToHexString",
    };

    public static List<string> Check(string path, string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path);
        var problems = new List<string>();
        void Report(SyntaxNode node, string rule)
        {
            var line = node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
            problems.Add($"{path}:{line}: {Rules[rule]} ({node.ToString().Split('\n')[0].Trim()})");
        }

        foreach (var node in tree.GetRoot().DescendantNodesAndSelf())
        {
            switch (node)
            {
                case UsingDirectiveSyntax u when u.Name?.ToString() is { } name && (name.StartsWith("System.Linq", StringComparison.Ordinal) || name.StartsWith("System.Threading.Tasks", StringComparison.Ordinal) || name.StartsWith("System.Text.Json", StringComparison.Ordinal) || name == "System.Collections.Generic" || name == "System.Buffers"):
                    Report(u, name.Contains("Linq", StringComparison.Ordinal) ? "linq" : name.Contains("Tasks", StringComparison.Ordinal) ? "task" : name.Contains("Json", StringComparison.Ordinal) ? "json" : name.Contains("Buffers", StringComparison.Ordinal) ? "span" : "generic");
                    break;
                case QueryExpressionSyntax:
                    Report(node, "linq");
                    break;
                case AwaitExpressionSyntax:
                    Report(node, "async");
                    break;
                case MethodDeclarationSyntax m when m.Modifiers.Any(SyntaxKind.AsyncKeyword):
                    Report(m, "async");
                    break;
                case AnonymousFunctionExpressionSyntax f when f.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword):
                    Report(f, "async");
                    break;
                case RecordDeclarationSyntax or WithExpressionSyntax:
                    Report(node, "record");
                    break;
                case StackAllocArrayCreationExpressionSyntax or ImplicitStackAllocArrayCreationExpressionSyntax:
                    Report(node, "span");
                    break;
                case GenericNameSyntax or TypeParameterListSyntax:
                    Report(node, "generic");
                    break;
                case InterpolatedStringExpressionSyntax:
                    Report(node, "interpolation");
                    break;
                case TupleTypeSyntax or TupleExpressionSyntax:
                    Report(node, "tuple");
                    break;
                case PredefinedTypeSyntax p when p.Keyword.IsKind(SyntaxKind.DecimalKeyword):
                    Report(p, "decimal");
                    break;
                case IdentifierNameSyntax { Identifier.ValueText: "dynamic" } id when id.Parent is not MemberAccessExpressionSyntax:
                    Report(id, "dynamic");
                    break;
                case AccessorDeclarationSyntax a when a.IsKind(SyntaxKind.InitAccessorDeclaration):
                    Report(a, "init");
                    break;
                case MemberDeclarationSyntax member when member.Modifiers.Any(SyntaxKind.RequiredKeyword):
                    Report(member, "init");
                    break;
                case StructDeclarationSyntax s when s.Modifiers.Any(SyntaxKind.RefKeyword):
                    Report(s, "byref-like");
                    break;
                case ParameterSyntax p when p.Modifiers.Any(SyntaxKind.InKeyword) || p.Modifiers.Any(SyntaxKind.ScopedKeyword):
                    Report(p, "byref-like");
                    break;
                case RefTypeSyntax r when r.ReadOnlyKeyword.IsKind(SyntaxKind.ReadOnlyKeyword):
                    Report(r, "byref-like");
                    break;
                case PointerTypeSyntax or FunctionPointerTypeSyntax or UnsafeStatementSyntax or FixedStatementSyntax:
                    Report(node, "unsafe");
                    break;
                case MemberDeclarationSyntax member when member.Modifiers.Any(SyntaxKind.UnsafeKeyword):
                    Report(member, "unsafe");
                    break;
                case YieldStatementSyntax:
                    Report(node, "iterator");
                    break;
                case MethodDeclarationSyntax m when m.Parent is InterfaceDeclarationSyntax && (m.Body is not null || m.ExpressionBody is not null || m.Modifiers.Any(SyntaxKind.StaticKeyword)):
                    Report(m, "default-interface-member");
                    break;
                case PropertyDeclarationSyntax p when p.Parent is InterfaceDeclarationSyntax && (p.ExpressionBody is not null || p.AccessorList?.Accessors.Any(a => a.Body is not null || a.ExpressionBody is not null) == true || p.Modifiers.Any(SyntaxKind.StaticKeyword)):
                    Report(p, "default-interface-member");
                    break;
                case RangeExpressionSyntax:
                    Report(node, "index-range");
                    break;
                case PrefixUnaryExpressionSyntax pre when pre.IsKind(SyntaxKind.IndexExpression):
                    Report(pre, "index-range");
                    break;
                case CollectionExpressionSyntax:
                    Report(node, "collection-expression");
                    break;
                case MemberAccessExpressionSyntax access when MissingMembers.Contains(StripSystem(access.ToString())):
                    Report(access, "missing-api");
                    break;
                case IdentifierNameSyntax id when MissingTypes.Contains(id.Identifier.ValueText) && id.Parent is not UsingDirectiveSyntax
                    && !(id.Parent is MemberAccessExpressionSyntax parent && parent.Name == id && parent.Expression is not QualifiedNameSyntax && !IsSystemNamespace(parent.Expression)):
                    Report(id, id.Identifier.ValueText switch
                    {
                        "Linq" => "linq",
                        "Task" or "ValueTask" or "Tasks" => "task",
                        "Json" or "JsonSerializer" => "json",
                        "Span" or "ReadOnlySpan" or "Memory" or "ReadOnlyMemory" => "span",
                        _ => "missing-api",
                    });
                    break;
            }
        }

        return problems;
    }

    private static string StripSystem(string text) => text.StartsWith("System.", StringComparison.Ordinal) ? text["System.".Length..] : text;

    private static bool IsSystemNamespace(ExpressionSyntax expression) =>
        expression.ToString() is "System" || expression.ToString().StartsWith("System.", StringComparison.Ordinal);
}
