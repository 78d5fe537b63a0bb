namespace Grid.Edge.Agent.Publishing;

/// <summary>What the agent reports about itself (retained on grid/&lt;device&gt;/agent, shown on the hub's home page).</summary>
internal sealed record AgentStatus(
    string Link,
    long OutboxReadings,
    long? OldestUnsentMs,
    long DroppedReadings,
    string? LastError,
    string? Vehicle,
    string Version);

/// <summary>Shared, thread-safe view of the agent's state for status reports.</summary>
internal sealed class AgentState
{
    private readonly Lock _sync = new();
    private string _link = "connecting";
    private string? _hubError;
    private Func<(string State, string? Error)>? _vehicle;
    private string? _sensorProblem;

    /// <summary>The first sensor problem, if any sensor is failing.</summary>
    public string? SensorProblem
    {
        get { lock (_sync) return _sensorProblem; }
    }

    public void SetSensorProblem(string? problem)
    {
        lock (_sync)
            _sensorProblem = problem;
    }

    public string Link
    {
        get { lock (_sync) return _link; }
    }

    public string? HubError
    {
        get { lock (_sync) return _hubError; }
    }

    public void SetLink(string link, string? error)
    {
        lock (_sync)
        {
            _link = link;
            _hubError = error;
        }
    }

    public void AttachVehicle(Func<(string State, string? Error)> vehicle)
    {
        lock (_sync)
            _vehicle = vehicle;
    }

    public (string State, string? Error)? Vehicle
    {
        get
        {
            lock (_sync)
                return _vehicle?.Invoke();
        }
    }
}
