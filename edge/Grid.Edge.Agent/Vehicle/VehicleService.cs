using Grid.Edge.Agent.Configuration;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Publishing;
using Grid.Edge.Obd.Polling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Vehicle;

/// <summary>Runs the OBD-II vehicle reader and puts what it reads into the outbox queue.</summary>
internal sealed class VehicleService(AgentOptions options, ReadingInbox queue, AgentState state, TimeProvider time, ILogger<VehicleReader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Obd.Enabled)
            return Task.CompletedTask;
        var reader = new VehicleReader(
            async ct => (await AdapterAddress.ConnectAsync(options.Obd.Adapter, options.Obd.BaudRate, options.DataDir, progress: null, logger, ct)).Client,
            options.Obd.ToPollOptions(),
            reading => queue.Add(new OutboxReading(reading.Metric, reading.Value, reading.Unit, reading.TimestampMs)),
            time,
            logger);
        state.AttachVehicle(() => (reader.State.ToString(), reader.LastError));
        return Task.Run(() => reader.RunAsync(stoppingToken), CancellationToken.None);
    }
}
