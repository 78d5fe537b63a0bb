namespace Grid.Edge.Hub.Configuration;

/// <summary>Who may connect to the broker without credentials.</summary>
public enum AnonymousAccess
{
    /// <summary>Only clients on this machine (127.0.0.0/8, ::1), as Mosquitto 2 does by default.</summary>
    Loopback,

    /// <summary>Nobody: every client needs a user name and password.</summary>
    None,

    /// <summary>Everyone. Only for an isolated network you trust completely.</summary>
    Any,
}

/// <summary>The hub's settings, bound from the <c>Hub</c> configuration section.</summary>
public sealed class HubOptions
{
    public const string Section = "Hub";

    public int MqttPort { get; set; } = 1883;

    public int HttpPort { get; set; } = 8080;

    /// <summary>Port the grid's links listen on (0: a free one).</summary>
    public int GridPort { get; set; } = 7420;

    /// <summary>Member hubs to keep links to (<c>[hub-id@]host:port</c>, comma-separated).</summary>
    public string? Peers { get; set; }

    /// <summary>on: dial what members announce; off: only <see cref="Peers"/>.</summary>
    public string Discovery { get; set; } = "on";

    public IReadOnlyList<string> PeerList =>
        Peers is null ? [] : [.. Peers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>How far ahead of this hub's clock a peer's delta may be before it is held back (design: MAX_SKEW).</summary>
    public int GridMaxSkewSeconds { get; set; } = 300;

    /// <summary>UDP port of the LAN beacon (0: none).</summary>
    public int DiscoveryPort { get; set; } = 7421;

    public bool DiscoveryOn => !string.Equals(Discovery, "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>Address both listeners bind to; 0.0.0.0 for every IPv4 interface.</summary>
    public string Bind { get; set; } = "0.0.0.0";

    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>MQTT users file (name:hash lines); default <c>&lt;data-dir&gt;/mqtt-users</c>.</summary>
    public string? UsersFile { get; set; }

    public AnonymousAccess Anonymous { get; set; } = AnonymousAccess.Loopback;

    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    public int MaxBatchReadings { get; set; } = 10_000;

    /// <summary>Most retained messages the broker keeps (the hub's own alerts are never refused).</summary>
    public int MaxRetainedMessages { get; set; } = 10_000;

    /// <summary>Largest payload of a retained message (no more than <see cref="MaxPayloadBytes"/> in effect).</summary>
    public int MaxRetainedBytes { get; set; } = 16 * 1024;

    public int MaxFutureSkewSeconds { get; set; } = 300;

    /// <summary>Most series one device may have (0: no limit).</summary>
    public int MaxSeriesPerDevice { get; set; } = 2_000;

    /// <summary>Readings a second one device (or authenticated user) may send on average, in bursts of 30 s worth (0: no limit).</summary>
    public int MaxDeviceRate { get; set; } = 20_000;

    /// <summary>Live stream (Server-Sent Events) listeners at once, and from one address.</summary>
    public int MaxLiveListeners { get; set; } = 64;

    public int MaxLiveListenersPerAddress { get; set; } = 8;

    /// <summary>Extra time the store lingers to group more appends into one commit.</summary>
    public int CommitDelayMs { get; set; }

    /// <summary>Most messages decoded and waiting for the store; the MQTT receive path waits beyond it.</summary>
    public int IngestQueueMessages { get; set; } = 1000;

    /// <summary>How often buffered chunks are written to the chunk store (the log holds them until then).</summary>
    public int CheckpointSeconds { get; set; } = 300;

    /// <summary>Days raw points are kept (0: forever), unless a retention rule says otherwise.</summary>
    public int RetentionRawDays { get; set; } = 90;

    /// <summary>Days 1-minute rollups are kept (0: forever).</summary>
    public int RetentionMinuteDays { get; set; } = 730;

    /// <summary>Days 1-hour rollups are kept (0: forever).</summary>
    public int RetentionHourDays { get; set; }

    /// <summary>Upper bound of the chunk store's size in MiB (0: none); the oldest chunks go first.</summary>
    public int DiskBudgetMb { get; set; }

    /// <summary>Minutes a pairing code stays valid.</summary>
    public int PairingCodeMinutes { get; set; } = 15;

    /// <summary>Let HTTP clients other than this machine create pairing codes and revoke devices (the dashboard from a phone).</summary>
    public bool PairingFromNetwork { get; set; }

    /// <summary>Visitors who are not logged in may read (dashboards, GET /api).</summary>
    public bool GuestView { get; set; }

    /// <summary>Host names beyond this machine's own that the HTTP side answers to (comma-separated).</summary>
    public string? AllowedHosts { get; set; }

    /// <summary>Guests may read (the demo turns the guest view on, so that it opens usable without an account).</summary>
    public bool GuestViewOn => GuestView;

    public string ResolvedUsersFile => UsersFile ?? Path.Combine(DataDir, "mqtt-users");

    public string PairingFile => Path.Combine(DataDir, "pairing-codes.json");

    public static string DefaultDataDir()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "grid-edge");
    }

    /// <summary>Checks the settings; each problem is a sentence that says what to change.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MqttPort is < 0 or > 65535)
            problems.Add($"MQTT port {MqttPort} is not a TCP port (0-65535; 0 picks a free one).");
        if (HttpPort is < 0 or > 65535)
            problems.Add($"HTTP port {HttpPort} is not a TCP port (0-65535; 0 picks a free one).");
        if (GridPort is < 0 or > 65535)
            problems.Add($"Grid port {GridPort} is not a TCP port (0-65535; 0 picks a free one).");
        if (MqttPort != 0 && MqttPort == HttpPort)
            problems.Add($"MQTT and HTTP cannot share port {MqttPort}.");
        if (GridPort != 0 && (GridPort == MqttPort || GridPort == HttpPort))
            problems.Add($"The grid port {GridPort} is also the {(GridPort == MqttPort ? "MQTT" : "HTTP")} port: choose another with --grid-port.");
        foreach (var peer in PeerList)
        {
            if (Replication.Node.PeerAddress.TryParse(peer, out var error) is null)
                problems.Add($"Peer {error}: give --peer host:port (or hub-id@host:port).");
        }

        if (GridMaxSkewSeconds is < 1 or > 86_400)
            problems.Add($"GridMaxSkewSeconds {GridMaxSkewSeconds} (--grid-max-skew) must be between 1 and 86400 seconds (a day): how far ahead of this hub's clock a peer's clock may run before its deltas are held back.");
        if (DiscoveryPort is < 0 or > 65535)
            problems.Add($"Discovery port {DiscoveryPort} is not a UDP port (0-65535; 0 turns LAN discovery off).");
        if (Discovery is not ("on" or "off" or "On" or "Off" or "ON" or "OFF"))
            problems.Add($"Discovery '{Discovery}' is not on or off.");
        if (!System.Net.IPAddress.TryParse(Bind, out _))
            problems.Add($"Bind address '{Bind}' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::).");
        if (string.IsNullOrWhiteSpace(DataDir))
            problems.Add("The data directory is empty; give --data-dir a folder.");
        if (MaxPayloadBytes is < 256 or > 16 * 1024 * 1024)
            problems.Add($"MaxPayloadBytes {MaxPayloadBytes} must be between 256 and 16777216.");
        if (MaxBatchReadings is < 1 or > 1_000_000)
            problems.Add($"MaxBatchReadings {MaxBatchReadings} must be between 1 and 1000000.");
        if (MaxRetainedMessages is < 1 or > 1_000_000)
            problems.Add($"MaxRetainedMessages {MaxRetainedMessages} must be between 1 and 1000000.");
        if (MaxRetainedBytes is < 16 or > 16 * 1024 * 1024)
            problems.Add($"MaxRetainedBytes {MaxRetainedBytes} must be between 16 and 16777216.");
        if (MaxFutureSkewSeconds is < 0 or > 86_400)
            problems.Add($"MaxFutureSkewSeconds {MaxFutureSkewSeconds} must be between 0 and 86400.");
        if (CommitDelayMs is < 0 or > 1000)
            problems.Add($"CommitDelayMs {CommitDelayMs} must be between 0 and 1000.");
        if (IngestQueueMessages is < 1 or > 100_000)
            problems.Add($"IngestQueueMessages {IngestQueueMessages} must be between 1 and 100000.");
        if (CheckpointSeconds is < 1 or > 3600)
            problems.Add($"CheckpointSeconds {CheckpointSeconds} must be between 1 and 3600.");
        if (RetentionRawDays < 0 || RetentionMinuteDays < 0 || RetentionHourDays < 0)
            problems.Add("Retention days cannot be negative (0 keeps forever).");
        if (DiskBudgetMb < 0)
            problems.Add($"DiskBudgetMb {DiskBudgetMb} cannot be negative (0: no budget).");
        if (MaxSeriesPerDevice is < 0 or > 10_000_000)
            problems.Add($"MaxSeriesPerDevice {MaxSeriesPerDevice} must be between 0 (no limit) and 10000000.");
        if (MaxDeviceRate is < 0 or > 100_000_000)
            problems.Add($"MaxDeviceRate {MaxDeviceRate} must be between 0 (no limit) and 100000000 readings a second.");
        if (MaxLiveListeners is < 1 or > 100_000)
            problems.Add($"MaxLiveListeners {MaxLiveListeners} must be between 1 and 100000.");
        if (MaxLiveListenersPerAddress is < 1 or > 100_000)
            problems.Add($"MaxLiveListenersPerAddress {MaxLiveListenersPerAddress} must be between 1 and 100000.");
        if (PairingCodeMinutes is < 1 or > 10_080)
            problems.Add($"PairingCodeMinutes {PairingCodeMinutes} must be between 1 and 10080 (a week).");
        Security.HostAllowlist.Parse(AllowedHosts, out var hostProblem);
        if (hostProblem is not null)
            problems.Add(hostProblem);
        return problems;
    }
}
