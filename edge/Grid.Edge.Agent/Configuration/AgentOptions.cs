using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Sensors;
using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Polling;

namespace Grid.Edge.Agent.Configuration;

/// <summary>Everything in the "Agent" section of appsettings.json (or GRID_AGENT_* environment variables).</summary>
public sealed class AgentOptions
{
    /// <summary>Device id: topics are grid/&lt;DeviceId&gt;/... (1-64 of A-Z a-z 0-9 _ . -).</summary>
    public string DeviceId { get; set; } = string.Empty;

    /// <summary>The hub's MQTT address.</summary>
    public string HubHost { get; set; } = "127.0.0.1";

    public int HubMqttPort { get; set; } = 1883;

    /// <summary>MQTT credentials; when empty, those saved by "grid-agent pair" in the data directory are used.</summary>
    public string User { get; set; } = string.Empty;

    public string Password { get; set; } = string.Empty;

    /// <summary>Where the outbox and the paired credentials live.</summary>
    public string DataDir { get; set; } = "/var/lib/grid-agent";

    public OutboxOptions Outbox { get; set; } = new();

    public ObdOptions Obd { get; set; } = new();

    /// <summary>Sensors on the board (BME280, DS18B20, rain gauge, anemometer, wind vane, GPS).</summary>
    public List<SensorOptions> Sensors { get; set; } = [];

    /// <summary>How often the agent publishes its own status (outbox depth, oldest unsent reading, link state).</summary>
    public int StatusIntervalSeconds { get; set; } = 30;

    public List<string> Validate()
    {
        var problems = new List<string>();
        if (!IsValidSegment(DeviceId))
            problems.Add($"Agent:DeviceId '{DeviceId}' must be 1-64 of A-Z a-z 0-9 _ . - (it names the device in topics)");
        if (string.IsNullOrWhiteSpace(HubHost))
            problems.Add("Agent:HubHost is required (the hub's address)");
        if (HubMqttPort is < 1 or > 65535)
            problems.Add($"Agent:HubMqttPort {HubMqttPort} must be 1-65535");
        if (User.Length > 0 && Password.Length == 0)
            problems.Add("Agent:Password is required with Agent:User");
        if (StatusIntervalSeconds is < 1 or > 3600)
            problems.Add("Agent:StatusIntervalSeconds must be 1-3600");
        var outbox = Outbox.Validate();
        if (outbox.Length > 0)
            problems.Add(outbox);
        for (var i = 0; i < Sensors.Count; i++)
        {
            if (Sensors[i].Validate(i) is { } sensor)
                problems.Add(sensor);
        }

        if (Obd.Enabled)
        {
            if (string.IsNullOrWhiteSpace(Obd.Adapter))
                problems.Add("Agent:Obd:Adapter is required when OBD is enabled (/dev/ttyUSB0, /dev/rfcomm0 or tcp://192.168.0.10:35000)");
            if (Obd.BaudRate is { } baud && baud != 0 && !ElmBaudProbe.IsPlausible(baud))
                problems.Add($"Agent:Obd:BaudRate {baud} must be a serial speed ({ElmBaudProbe.LowestRate}-{ElmBaudProbe.HighestRate}), or left out to find it");
            var poll = Obd.ToPollOptions().Validate();
            if (poll.Length > 0)
                problems.Add("Agent:Obd: " + poll);
        }

        return problems;
    }

    public static bool IsValidSegment(string? text) =>
        text is { Length: >= 1 and <= 64 } && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}

/// <summary>The vehicle's ELM327 adapter.</summary>
public sealed class ObdOptions
{
    public bool Enabled { get; set; }

    /// <summary>Serial device (/dev/ttyUSB0, Bluetooth /dev/rfcomm0) or tcp://host:port for Wi-Fi adapters.</summary>
    public string Adapter { get; set; } = string.Empty;

    /// <summary>
    /// Serial speed, tried first when set. Left out (or 0), it is found: the rate the adapter last answered at (remembered
    /// per device in <see cref="AgentOptions.DataDir"/>), then 38400, 9600, 115200, 230400 and 500000.
    /// </summary>
    public int? BaudRate { get; set; }

    public double FastIntervalSeconds { get; set; } = 1;

    public double SlowIntervalSeconds { get; set; } = 10;

    public double RareIntervalSeconds { get; set; } = 60;

    public double IgnitionOffIntervalSeconds { get; set; } = 60;

    public ObdPollOptions ToPollOptions() => new()
    {
        FastInterval = TimeSpan.FromSeconds(FastIntervalSeconds),
        SlowInterval = TimeSpan.FromSeconds(SlowIntervalSeconds),
        RareInterval = TimeSpan.FromSeconds(RareIntervalSeconds),
        IgnitionOffInterval = TimeSpan.FromSeconds(IgnitionOffIntervalSeconds),
    };
}
