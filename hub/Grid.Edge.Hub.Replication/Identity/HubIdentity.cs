namespace Grid.Edge.Hub.Replication.Identity;

/// <summary>
/// This hub's identity for the host: its long-term key pair, made on first start and kept in the data folder
/// (owner-only), and the hub id derived from the public key. The id is what the grid, the store's write stamps and
/// the dashboards call this hub; it changes only with the key, and a new key is a new hub.
/// </summary>
public sealed class HubIdentity : IDisposable
{
    public const string FileName = "hub.key";

    private HubIdentity(HubKeys keys, string path)
    {
        Keys = keys;
        KeyFile = path;
    }

    /// <summary>The hub id: 26 characters of base32, a hash of the public key.</summary>
    public string HubId => Keys.HubId.ToString();

    /// <summary>The Ed25519 public key, base64.</summary>
    public string PublicKey => Convert.ToBase64String(Keys.PublicKey.Span);

    public string KeyFile { get; }

    internal HubKeys Keys { get; }

    /// <summary>Loads the key in <paramref name="dataDir"/>, or makes it when there is none.</summary>
    /// <exception cref="InvalidDataException">The key file is damaged or readable by others; the message says what to do.</exception>
    public static HubIdentity LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        return new HubIdentity(HubKeyFile.LoadOrCreate(path), path);
    }

    public void Dispose() => Keys.Dispose();
}
