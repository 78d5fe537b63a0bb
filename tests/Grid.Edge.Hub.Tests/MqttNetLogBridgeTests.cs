using Grid.Edge.Hub.Mqtt;
using Microsoft.Extensions.Logging;
using MQTTnet.Diagnostics.Logger;

namespace Grid.Edge.Hub.Tests;

/// <summary>MQTTnet's own log in the hub's: what a client did is a counted warning, what the hub did an error.</summary>
public sealed class MqttNetLogBridgeTests
{
    public static TheoryData<string, Exception, bool> Cases => new()
    {
        { "Client '{0}': Sending PUBLISH packet failed", new ObjectDisposedException("MQTTnet.Internal.AsyncSignal"), true },
        { "Error while processing packet", new MQTTnet.Exceptions.MqttProtocolViolationException("bad"), true },
        { "Error while processing packet", new InvalidOperationException("outer", new System.Net.Sockets.SocketException()), true },
        { "Error while handling client connection", new ObjectDisposedException("the hub's own store"), false },
        { "Client '{0}': Sending PUBLISH packet failed", new InvalidOperationException("a bug"), false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_client_leaving_or_breaking_the_protocol_is_a_counted_warning_anything_else_an_error(string message, Exception exception, bool clientFault)
    {
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var bridge = new MqttNetLogBridge(factory, TimeProvider.System);
        bridge.Publish(MqttNetLogLevel.Error, "MqttConnectedClient", message, ["c1"], exception);
        Assert.Equal(clientFault ? 1 : 0, bridge.ClientProtocolErrors);
        Assert.Equal(clientFault ? LogLevel.Warning : LogLevel.Error, Assert.Single(logs.Levels));
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider, ILogger
    {
        public List<LogLevel> Levels { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => Levels.Add(logLevel);

        public void Dispose()
        {
        }
    }
}
