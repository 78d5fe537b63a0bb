using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Grid.Edge.Protocol.Readings;

/// <summary>
/// Series id patterns as settings give them: <c>*</c> matches any characters, everything else itself
/// (<c>demo-*/*</c>, <c>*/temperature</c>, <c>van/speed</c>).
/// </summary>
public static class SeriesPattern
{
    // Compiled once per pattern; without backtracking, so that no pattern and no series id can make a match take long.
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    public static bool Matches(string pattern, string seriesId)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(seriesId);
        var regex = Compiled.GetOrAdd(pattern, static p => new Regex(
            "^" + Regex.Escape(p).Replace("\\*", ".*", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
        return regex.IsMatch(seriesId);
    }

    /// <summary>Whether any of <paramref name="patterns"/> matches <paramref name="seriesId"/>.</summary>
    public static bool MatchesAny(IReadOnlyList<string> patterns, string seriesId)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        foreach (var pattern in patterns)
        {
            if (Matches(pattern, seriesId))
                return true;
        }

        return false;
    }
}
