namespace Grid.Edge.Hub.Configuration;

/// <summary>
/// One setting as the user meets it: a command-line option, an environment variable and a key in
/// appsettings.json. The table below is the single source for all three and for the help text.
/// </summary>
/// <param name="IsList">The option may be given more than once; the values join with commas (as the variable and the key take them).</param>
internal sealed record HubSetting(string Option, string Key, string Environment, string HelpName, string Description, bool IsFlag = false, bool IsList = false)
{
    public static readonly IReadOnlyList<HubSetting> All =
    [
        new("--mqtt-port", "MqttPort", "GRID_MQTT_PORT", "port", "MQTT listener port (MQTT 3.1.1 and 5). 0 picks a free port. Default 1883."),
        new("--http-port", "HttpPort", "GRID_HTTP_PORT", "port", "HTTP port of the API (and dashboards). 0 picks a free port. Default 8080."),
        new("--grid-port", "GridPort", "GRID_GRID_PORT", "port", "Port other hubs of the grid connect to (NetMQ with CurveZMQ: only members get in). 0 picks a free port. Default 7420."),
        new("--peer", "Peers", "GRID_PEERS", "host:port", "A member hub to keep a link to, beyond what LAN discovery finds (an overlay or forwarded address); repeat it, or separate with commas. 'hub-id@host:port' names the hub expected there.", IsList: true),
        new("--grid-max-skew", "GridMaxSkewSeconds", "GRID_GRID_MAX_SKEW", "seconds", "How far ahead of this hub's clock another hub's clock may run before its deltas are held back (kept, not applied, and taken once this hub's clock comes within reach), so a hub with a wrong clock cannot drag the grid's clocks forward. Widen it when a member's clock is known to be off. Default 300."),
        new("--discovery", "Discovery", "GRID_DISCOVERY", "on|off", "on: also dial the addresses other members announce, and remember them. off: dial only --peer addresses (and the inviter while joining). Default on."),
        new("--discovery-port", "DiscoveryPort", "GRID_DISCOVERY_PORT", "port", "UDP port of LAN discovery: members find each other by a sealed broadcast on the networks the hub is bound to (only this machine's with --bind 127.0.0.1). 0 turns the beacon off. Default 7421."),
        new("--bind", "Bind", "GRID_BIND", "address", "Address the listeners (MQTT, HTTP, grid) bind to. Default 0.0.0.0 (all IPv4 interfaces); 127.0.0.1 keeps the hub private to this machine."),
        new("--data-dir", "DataDir", "GRID_DATA_DIR", "dir", "Folder for the readings database and users file. Default $XDG_DATA_HOME/grid-edge or ~/.local/share/grid-edge."),
        new("--users-file", "UsersFile", "GRID_USERS_FILE", "file", "MQTT users file (see 'users add'). Default <data-dir>/mqtt-users."),
        new("--anonymous", "Anonymous", "GRID_ANONYMOUS", "loopback|none|any", "Who may connect to MQTT without credentials. Default loopback (like Mosquitto 2)."),
        new("--pairing-code-minutes", "PairingCodeMinutes", "GRID_PAIRING_CODE_MINUTES", "minutes", "How long a device pairing code stays valid. Default 15."),
        new("--pairing-from-network", "PairingFromNetwork", "GRID_PAIRING_FROM_NETWORK", "", "Allow creating pairing codes and revoking devices over HTTP from other machines (default: only from the hub's own machine).", IsFlag: true),
        new("--guest-view", "GuestView", "GRID_GUEST_VIEW", "", "Let visitors who are not logged in read the dashboards and GET /api (read-only; changes still need the admin). Default off; the demo turns it on.", IsFlag: true),
        new("--allowed-hosts", "AllowedHosts", "GRID_ALLOWED_HOSTS", "names", "More host names browsers may use to reach the hub, comma-separated (e.g. grid.home). localhost, this machine's addresses and host name (also <name>.local) are always allowed; other names get 400 (DNS rebinding)."),
        new("--max-payload-bytes", "MaxPayloadBytes", "GRID_MAX_PAYLOAD_BYTES", "bytes", "Largest accepted message payload. Default 65536."),
        new("--max-batch-readings", "MaxBatchReadings", "GRID_MAX_BATCH_READINGS", "count", "Most readings accepted in one batch message. Default 10000."),
        new("--max-retained-messages", "MaxRetainedMessages", "GRID_MAX_RETAINED_MESSAGES", "count", "Most retained MQTT messages the broker keeps; a new retained topic beyond it is refused (MQTT 5: 0x97). Default 10000."),
        new("--max-retained-bytes", "MaxRetainedBytes", "GRID_MAX_RETAINED_BYTES", "bytes", "Largest payload of a retained MQTT message. Default 16384."),
        new("--max-future-skew", "MaxFutureSkewSeconds", "GRID_MAX_FUTURE_SKEW", "seconds", "How far a reading's time may be ahead of the hub clock. Default 300."),
        new("--max-series-per-device", "MaxSeriesPerDevice", "GRID_MAX_SERIES_PER_DEVICE", "count", "Most series one device may have (the ones the hub derives for it count too); readings that would start another are refused (series_limit). 0: no limit. Default 2000."),
        new("--max-device-rate", "MaxDeviceRate", "GRID_MAX_DEVICE_RATE", "readings/s", "Readings a second one device (or authenticated MQTT user) may send on average, in bursts of up to 30 s worth; messages beyond are refused (rate_limited; MQTT 5 clients get PUBACK 0x97 and send again). 0: no limit. Default 20000."),
        new("--max-live-listeners", "MaxLiveListeners", "GRID_MAX_LIVE_LISTENERS", "count", "Live streams (GET /api/live, one per open dashboard page) at once; more get 503. Default 64."),
        new("--max-live-listeners-per-address", "MaxLiveListenersPerAddress", "GRID_MAX_LIVE_LISTENERS_PER_ADDRESS", "count", "Live streams from one address at once; more get 429. Default 8."),
        new("--checkpoint-seconds", "CheckpointSeconds", "GRID_CHECKPOINT_SECONDS", "seconds", "How often buffered chunks go to the chunk store (the log keeps them safe meanwhile). Default 300: each checkpoint writes the new points of every series still being written as a part of its hour chunk and syncs the chunk store, so a longer interval means fewer, larger writes on the SD card."),
        new("--retention-raw-days", "RetentionRawDays", "GRID_RETENTION_RAW_DAYS", "days", "Days raw points are kept; 0 keeps forever. Default 90."),
        new("--retention-minute-days", "RetentionMinuteDays", "GRID_RETENTION_MINUTE_DAYS", "days", "Days 1-minute rollups are kept; 0 keeps forever. Default 730."),
        new("--retention-hour-days", "RetentionHourDays", "GRID_RETENTION_HOUR_DAYS", "days", "Days 1-hour rollups are kept; 0 keeps forever (the default)."),
        new("--disk-budget-mb", "DiskBudgetMb", "GRID_DISK_BUDGET_MB", "MiB", "Largest size of the chunk store; the oldest chunks are dropped first. Default 0 (no budget)."),
        new("--commit-delay-ms", "CommitDelayMs", "GRID_COMMIT_DELAY_MS", "ms", "Extra wait to group more readings into one disk commit. Default 0 (group what queued during the previous sync)."),
        new("--ingest-queue", "IngestQueueMessages", "GRID_INGEST_QUEUE", "messages", "Most messages taken in and not yet stored; beyond it the hub stops reading from the MQTT connections that send more (TCP pushes back on the devices) until the store catches up. Default 1000."),
    ];
}
