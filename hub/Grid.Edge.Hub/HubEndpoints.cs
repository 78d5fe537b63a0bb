using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Grid.Edge.Hub;

/// <summary>Where the hub actually listens (known after start: port 0 picks free ports).</summary>
public sealed class HubEndpoints(TimeProvider time)
{
    internal ListenOptions? MqttListener { get; set; }

    internal ListenOptions? HttpListener { get; set; }

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public IPEndPoint? Mqtt => MqttListener?.IPEndPoint;

    public IPEndPoint? Http => HttpListener?.IPEndPoint;

    /// <summary>Where the grid's links listen, once the grid service started.</summary>
    public IPEndPoint? Grid { get; internal set; }

    /// <summary>The one line printed at start; scripts and tests read the ports and the hub id from it (the data folder last: it may hold spaces).</summary>
    public string ReadyLine(string hubId, string dataDir) =>
        $"Grid.Edge hub ready: mqtt={Format(Mqtt)} http={Format(Http)} grid={Format(Grid)} hub={hubId} data={dataDir}";

    private static string Format(IPEndPoint? endPoint) => endPoint is null ? "-" : endPoint.ToString();
}
