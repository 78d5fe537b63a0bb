using System.Text.Json;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Agent.Configuration;

/// <summary>The credentials "grid-agent pair" obtained from the hub, kept in the data directory (mode 0600).</summary>
internal sealed record PairedCredentials(string DeviceId, string User, string Password, string HubHost, int HubMqttPort)
{
    public const string FileName = "credentials.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static PairedCredentials? Load(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize<PairedCredentials>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{path} is damaged ({e.Message}); pair the device again with 'grid-agent pair'", e);
        }
    }

    /// <summary>
    /// Writes the file readable by its owner only from its creation (never a moment with the password open to others),
    /// synced, replacing any earlier one atomically.
    /// </summary>
    public void Save(string dataDir) =>
        DurableFile.WriteAllText(Path.Combine(dataDir, FileName), JsonSerializer.Serialize(this, Json), ownerOnly: true);
}
