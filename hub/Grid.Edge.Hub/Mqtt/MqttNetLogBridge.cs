using System.Collections.Concurrent;
using System.Globalization;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Exceptions;

namespace Grid.Edge.Hub.Mqtt;

/// <summary>
/// Routes MQTTnet's own log into the hub's logging (category <c>MQTTnet.&lt;source&gt;</c>). A client that sends
/// broken packets is bad input, not a hub failure: it is counted and logged as a warning, at most once per
/// interval per kind, instead of an error with a stack trace per packet.
/// </summary>
internal sealed class MqttNetLogBridge(ILoggerFactory loggers, TimeProvider time) : IMqttNetLogger
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Last, int Suppressed)> _windows = new(StringComparer.Ordinal);
    private long _clientProtocolErrors;

    public bool IsEnabled => true;

    /// <summary>Connections dropped because a client broke the protocol or the connection.</summary>
    public long ClientProtocolErrors => Interlocked.Read(ref _clientProtocolErrors);

    public void Publish(MqttNetLogLevel logLevel, string source, string message, object[] parameters, Exception exception)
    {
        var clientFault = IsClientFault(exception, message);
        if (clientFault)
            Interlocked.Increment(ref _clientProtocolErrors);

        // Information from MQTTnet is a line per connection and packet: too much for a Pi's journal.
        var level = logLevel switch
        {
            MqttNetLogLevel.Error when !clientFault => LogLevel.Error,
            MqttNetLogLevel.Error or MqttNetLogLevel.Warning => LogLevel.Warning,
            MqttNetLogLevel.Info => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        var logger = loggers.CreateLogger("MQTTnet." + source);
        if (!logger.IsEnabled(level))
            return;
        var text = parameters is { Length: > 0 } ? string.Format(CultureInfo.InvariantCulture, message, parameters) : message;
        if (level == LogLevel.Warning)
        {
            var suppressed = Admit(source + "|" + message + "|" + exception?.GetType().Name);
            if (suppressed < 0)
                return;
            if (clientFault)
                text += ": " + exception!.Message;
            if (suppressed > 0)
                text += $" ({suppressed} similar not logged in the last {Interval.TotalSeconds:0} s)";
#pragma warning disable CA2254 // MQTTnet formats its own messages
            logger.Log(level, clientFault ? null : exception, text);
            return;
        }

        logger.Log(level, exception, text);
#pragma warning restore CA2254
    }

    /// <summary>A client broke the protocol, or dropped or reset its connection (a device losing power does).</summary>
    internal static bool IsClientFault(Exception? exception, string message)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            // A packet on its way to a client whose connection was just torn down (it left, or broke the protocol).
            if (e is ObjectDisposedException && message.Contains("Sending", StringComparison.Ordinal))
                return true;
            if (e is MqttProtocolViolationException or MqttCommunicationException
                or Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException
                or System.Net.Sockets.SocketException)
                return true;
        }

        return false;
    }

    /// <summary>-1 to suppress; otherwise how many were suppressed since the last line of this kind.</summary>
    private int Admit(string kind)
    {
        var now = time.GetUtcNow();
        var admitted = -1;
        _windows.AddOrUpdate(
            kind,
            _ =>
            {
                admitted = 0;
                return (now, 0);
            },
            (_, window) =>
            {
                if (now - window.Last < Interval)
                {
                    admitted = -1;
                    return (window.Last, window.Suppressed + 1);
                }

                admitted = window.Suppressed;
                return (now, 0);
            });
        return admitted;
    }
}
