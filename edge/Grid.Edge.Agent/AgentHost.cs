using Grid.Edge.Agent.Configuration;
using Grid.Edge.Agent.Outbox;
using Grid.Edge.Agent.Publishing;
using Grid.Edge.Agent.Sensors;
using Grid.Edge.Agent.Vehicle;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent;

/// <summary>Builds the agent's host: options from configuration, the outbox, the writer, the publisher, the vehicle reader.</summary>
public static class AgentHost
{
    /// <summary>Reads and checks the "Agent" section; throws with every problem listed.</summary>
    public static AgentOptions ReadOptions(IConfiguration configuration)
    {
        var options = new AgentOptions();
        configuration.GetSection("Agent").Bind(options);
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new InvalidOperationException("The agent's configuration has problems:\n  " + string.Join("\n  ", problems));
        return options;
    }

    /// <param name="services">Replaces services before the host is built (simulated hardware for tests and the hub's demo).</param>
    /// <param name="embedded">Runs inside another program (the hub's demo): no console logging, no systemd notifications.</param>
    public static IHost Build(IConfiguration configuration, Action<ILoggingBuilder>? logging = null, Action<IServiceCollection>? services = null, bool embedded = false)
    {
        var options = ReadOptions(configuration);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration);
        if (!embedded)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
            builder.Services.AddSystemd();
        }

        logging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SqliteOutbox(Path.Combine(options.DataDir, "outbox.db"), options.Outbox, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ReadingInbox>();
        builder.Services.AddSingleton<AgentState>();
        builder.Services.AddSingleton<ISensorFactory, HardwareSensorFactory>();
        // Order matters on shutdown (reverse): the reader stops first, then the writer drains the queue, then the publisher.
        builder.Services.AddHostedService<HubPublisher>();
        builder.Services.AddHostedService<OutboxWriter>();
        builder.Services.AddHostedService<VehicleService>();
        builder.Services.AddHostedService<SensorService>();
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
