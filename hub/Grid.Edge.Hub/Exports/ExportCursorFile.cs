using System.Text.Json;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Exports;

/// <summary>
/// An export's durable cursor: <c>&lt;data-dir&gt;/exports/&lt;name&gt;.json</c>, replaced atomically, with the
/// target it belongs to. A cursor of another target (the export was pointed elsewhere) starts again at 0: the new
/// target gets the whole history.
/// </summary>
internal sealed class ExportCursorFile(string dataDir, ExportSettings settings)
{
    public string Path { get; } = System.IO.Path.Combine(dataDir, "exports", settings.Name + ".json");

    public long Load(ILogger? logger)
    {
        if (!File.Exists(Path))
            return 0;
        try
        {
            var saved = JsonSerializer.Deserialize<Saved>(File.ReadAllText(Path));
            if (saved is null || saved.Cursor < 0)
                throw new JsonException("no cursor");
            if (saved.Target == Target)
                return saved.Cursor;
            logger?.LogInformation("Export {Export} now writes to {Target} (was {Previous}): it sends the whole history there", settings.Name, Target, saved.Target);
            return 0;
        }
        catch (JsonException ex)
        {
            var aside = DurableFile.SetAside(Path);
            logger?.LogWarning("Export {Export}: its cursor file could not be read ({Reason}); set aside as {Aside}, the whole history is sent again (the target keeps each point once)", settings.Name, ex.Message, aside);
            return 0;
        }
    }

    public void Save(long cursor) => DurableFile.WriteAllText(Path, JsonSerializer.Serialize(new Saved(Target, cursor)));

    private string Target => $"{settings.KindName} {settings.Target}";

    private sealed record Saved(string Target, long Cursor);
}
