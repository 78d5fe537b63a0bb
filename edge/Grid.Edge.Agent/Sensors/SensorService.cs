using Grid.Edge.Agent.Configuration;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Publishing;
using Grid.Edge.Devices.Sensors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Sensors;

/// <summary>
/// Reads every configured sensor at its interval and hands the readings, stamped when read, to the outbox. A sensor
/// that fails is logged once per change of its problem, retried at its next turn, and re-opened after failures.
/// </summary>
internal sealed class SensorService(AgentOptions options, ISensorFactory factory, ReadingInbox inbox, AgentState state, TimeProvider time, ILogger<SensorService> logger) : BackgroundService
{
    private sealed class Slot(SensorOptions options)
    {
        public SensorOptions Options { get; } = options;

        public ISensor? Sensor { get; set; }

        public DateTimeOffset Next { get; set; } = DateTimeOffset.MinValue;

        public string? Problem { get; set; }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Sensors.Count == 0)
            return;
        var slots = options.Sensors.Select(s => new Slot(s)).ToList();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                foreach (var slot in slots.Where(s => s.Next <= now))
                {
                    slot.Next = now + TimeSpan.FromSeconds(slot.Options.IntervalSeconds);
                    ReadOne(slot);
                }

                state.SetSensorProblem(slots.Select(s => s.Problem).FirstOrDefault(p => p is not null));
                var wait = slots.Min(s => s.Next) - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, time, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            foreach (var slot in slots)
                slot.Sensor?.Dispose();
        }
    }

    private void ReadOne(Slot slot)
    {
        try
        {
            slot.Sensor ??= factory.Create(slot.Options);
            var readings = slot.Sensor.Read();
            var stamp = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var reading in readings)
                inbox.Add(new OutboxReading(reading.Metric, reading.Value, reading.Unit, stamp));
            if (slot.Problem is not null)
                logger.LogInformation("{Sensor} works again", slot.Sensor.Description);
            slot.Problem = null;
        }
        catch (SensorException e)
        {
            if (slot.Problem != e.Message)
                logger.LogWarning("Sensor {Type}: {Problem}", slot.Options.Type, e.Message);
            slot.Problem = e.Message;
        }
    }
}
