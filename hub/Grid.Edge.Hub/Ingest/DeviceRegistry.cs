using System.Collections.Concurrent;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Ingest;

/// <summary>What the hub knows of a device: its own status report and when it was last heard from.</summary>
internal sealed record DeviceState(string Device, DeviceStatus? Status, DateTimeOffset? StatusSince, DateTimeOffset? LastSeen, long ReadingsAccepted)
{
    /// <summary>The last report of the device's agent about itself, if it runs one.</summary>
    public AgentReport? Agent { get; init; }

    public DateTimeOffset? AgentReportedAt { get; init; }
}

/// <summary>Devices seen since start, seeded from the store's series so a restart keeps "last seen".</summary>
internal sealed class DeviceRegistry
{
    private readonly ConcurrentDictionary<string, DeviceState> _devices = new(StringComparer.Ordinal);

    public void Seed(string device, DateTimeOffset lastReading) =>
        _devices.AddOrUpdate(
            device,
            d => new DeviceState(d, null, null, lastReading, 0),
            (_, s) => s.LastSeen is { } seen && seen >= lastReading ? s : s with { LastSeen = lastReading });

    public void Heard(string device, DateTimeOffset now, int accepted) =>
        _devices.AddOrUpdate(
            device,
            d => new DeviceState(d, null, null, now, accepted),
            (_, s) => s with { LastSeen = now, ReadingsAccepted = s.ReadingsAccepted + accepted });

    public void SetStatus(string device, DeviceStatus status, DateTimeOffset now) =>
        _devices.AddOrUpdate(
            device,
            d => new DeviceState(d, status, now, now, 0),
            (_, s) => s with { Status = status, StatusSince = s.Status == status ? s.StatusSince : now, LastSeen = now });

    public void SetAgent(string device, AgentReport report, DateTimeOffset? now) =>
        _devices.AddOrUpdate(
            device,
            d => new DeviceState(d, null, null, now, 0) { Agent = report, AgentReportedAt = now },
            (_, s) => s with { Agent = report, AgentReportedAt = now ?? s.AgentReportedAt, LastSeen = now ?? s.LastSeen });

    /// <summary>A status remembered from before a restart: known, but not heard from since.</summary>
    public void Restore(string device, DeviceStatus status) =>
        _devices.AddOrUpdate(device, d => new DeviceState(d, status, null, null, 0), (_, s) => s.Status is null ? s with { Status = status } : s);

    public IReadOnlyList<DeviceState> All() => _devices.Values.OrderBy(d => d.Device, StringComparer.Ordinal).ToList();

    public bool TryGet(string device, out DeviceState state) => _devices.TryGetValue(device, out state!);
}
