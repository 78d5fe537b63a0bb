using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Grid.Edge.Devices.Sensors;

namespace Grid.Edge.Devices.Gps;

/// <summary>
/// A GPS through gpsd (TCP 2947, JSON protocol): watches TPV reports and keeps the latest fix. A read gives
/// latitude and longitude for a 2D fix, plus altitude for a 3D fix; nothing without a fix, and nothing stale
/// (no report for 10 s). Reconnects to gpsd by itself.
/// </summary>
public sealed class GpsdSensor : ISensor
{
    private static readonly byte[] Watch = Encoding.ASCII.GetBytes("?WATCH={\"enable\":true,\"json\":true}\n");
    private static readonly TimeSpan Stale = TimeSpan.FromSeconds(10);

    private readonly string _host;
    private readonly int _port;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _sync = new();
    private (double Lat, double Lon, double? Alt, int Mode, DateTimeOffset At)? _fix;
    private string? _problem = "no answer from gpsd yet";

    public GpsdSensor(string host, int port, TimeProvider time)
    {
        _host = host;
        _port = port;
        _time = time;
        Description = string.Create(CultureInfo.InvariantCulture, $"GPS through gpsd at {host}:{port}");
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public string Description { get; }

    public IReadOnlyList<SensorReading> Read()
    {
        lock (_sync)
        {
            if (_fix is not { } fix || _time.GetUtcNow() - fix.At > Stale)
                throw new SensorException($"{Description}: {_problem ?? "no recent position report"}");
            if (fix.Mode < 2)
                throw new SensorException($"{Description}: no fix yet (the receiver sees too few satellites)");
            var readings = new List<SensorReading> { new("latitude", fix.Lat, "deg"), new("longitude", fix.Lon, "deg") };
            if (fix.Mode >= 3 && fix.Alt is { } alt)
                readings.Add(new SensorReading("altitude", Math.Round(alt, 1), "m"));
            return readings;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>Applies one gpsd JSON line; only TPV reports with a fix change the position.</summary>
    internal void Apply(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("class", out var kind) || kind.GetString() != "TPV")
                return;
            var mode = root.TryGetProperty("mode", out var m) && m.TryGetInt32(out var mv) ? mv : 0;
            double? alt = root.TryGetProperty("altMSL", out var a) && a.TryGetDouble(out var av) ? av
                : root.TryGetProperty("alt", out var a2) && a2.TryGetDouble(out var av2) ? av2 : null;
            lock (_sync)
            {
                if (mode >= 2 && root.TryGetProperty("lat", out var lat) && root.TryGetProperty("lon", out var lon)
                    && lat.TryGetDouble(out var latValue) && lon.TryGetDouble(out var lonValue)
                    && latValue is >= -90 and <= 90 && lonValue is >= -180 and <= 180)
                {
                    _fix = (latValue, lonValue, alt, mode, _time.GetUtcNow());
                    _problem = null;
                }
                else
                {
                    _fix = _fix is { } old ? old with { Mode = Math.Min(old.Mode, mode), At = _time.GetUtcNow() } : (0, 0, null, mode, _time.GetUtcNow());
                }
            }
        }
        catch (JsonException)
        {
            // gpsd sent something we do not read: ignore the line, keep the last fix.
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(_host, _port, cancellationToken);
                await using var stream = client.GetStream();
                await stream.WriteAsync(Watch, cancellationToken);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.Length <= 16 * 1024)
                        Apply(line);
                }

                lock (_sync)
                    _problem = "gpsd closed the connection";
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                lock (_sync)
                    _problem = $"gpsd is not reachable ({e.Message}); is gpsd running (systemctl status gpsd)?";
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
