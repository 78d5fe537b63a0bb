using System.Text.Json;
using Grid.Edge.Hub.Intelligence.Alerts;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Alerts;

/// <summary>
/// <c>&lt;data-dir&gt;/alerts.json</c>: the active alerts (with their acknowledgements) and the history, written after
/// every change so a restart neither forgets what a person acknowledged nor fires an alert again as if it were new.
/// </summary>
internal sealed class AlertStateFile(string dataDir)
{
    public const string FileName = "alerts.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public sealed record State(List<Alert> Active, List<Alert> History);

    public string FilePath => Path.Combine(dataDir, FileName);

    /// <summary>The saved state; a damaged file is set aside (named in <paramref name="setAside"/>) and nothing is restored.</summary>
    public State Load(out string? setAside)
    {
        setAside = null;
        if (!File.Exists(FilePath))
            return new State([], []);
        try
        {
            var state = JsonSerializer.Deserialize<State>(File.ReadAllText(FilePath), Json);
            if (state?.Active is not null && state.History is not null)
                return state;
        }
        catch (JsonException)
        {
        }

        setAside = DurableFile.SetAside(FilePath);
        return new State([], []);
    }

    public void Save(IReadOnlyList<Alert> active, IReadOnlyList<Alert> history) =>
        DurableFile.WriteAllText(FilePath, JsonSerializer.Serialize(new State([.. active], [.. history]), Json));
}
