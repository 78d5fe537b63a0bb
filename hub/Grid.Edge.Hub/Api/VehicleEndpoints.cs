using Grid.Edge.Hub.Intelligence.Vehicle;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Api;

public sealed record TroubleCodeInfo(string Code, string Description, string Severity, long FirstSeen, long LastSeen, int Times);

public sealed record BatteryNow(double Volts, bool EngineRunning, double? StateOfCharge, string Verdict, long T);

public sealed record VehicleNowResponse(string Device, BatteryNow? Battery, IReadOnlyList<TroubleCodeInfo> Codes, string? WorstSeverity);

/// <summary>A vehicle's trouble codes with descriptions and severity, and its battery's health, for people.</summary>
internal static class VehicleEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/api/vehicle/{device}/now", async (string device, ITimeSeriesStore store, TimeProvider time, CancellationToken cancellationToken) =>
            {
                if (!store.ListSeries().Any(s => s.Key.Device == device))
                    return Results.NotFound(new ErrorResponse($"no series for device '{device}'"));
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                var codes = new List<TroubleCodeInfo>();
                var dtc = new SeriesKey(device, "dtc");
                if (store.TryGetSeries(dtc, out _))
                {
                    var points = await store.ReadRangeAsync(dtc, now - (30L * 86_400_000), now + 60_000, 100_000, cancellationToken: cancellationToken);
                    foreach (var group in points.GroupBy(p => (int)p.Value))
                    {
                        var code = Text(group.Key);
                        codes.Add(new TroubleCodeInfo(code, TroubleCodeCatalog.Describe(code), TroubleCodeCatalog.Severity(code).ToString().ToLowerInvariant(), group.Min(p => p.TimestampMs), group.Max(p => p.TimestampMs), group.Count()));
                    }
                }

                BatteryNow? battery = null;
                if (store.TryGetSeries(new SeriesKey(device, "battery_voltage"), out var volts))
                {
                    var running = store.TryGetSeries(new SeriesKey(device, "engine_running"), out var engine) && engine.LatestValue > 0;
                    var verdict = running ? BatteryHealth.Running(volts.LatestValue) : BatteryHealth.Resting(volts.LatestValue);
                    battery = new BatteryNow(volts.LatestValue, running, running ? null : Math.Round(BatteryHealth.StateOfCharge(volts.LatestValue)), verdict.ToString(), volts.LatestMs);
                }

                var worst = codes.Count == 0 ? null : codes.Max(c => Enum.Parse<CodeSeverity>(c.Severity, ignoreCase: true)).ToString().ToLowerInvariant();
                return Results.Ok(new VehicleNowResponse(device, battery, codes.OrderByDescending(c => c.LastSeen).ToList(), worst));
            })
            .Produces<VehicleNowResponse>()
            .WithSummary("A vehicle's trouble codes of the last 30 days with descriptions, severity, first and last seen; its battery's state of charge (at rest) or charging state (engine running).");
    }

    // SAE J2012: the two code bytes as one number, e.g. 0x0171 -> P0171.
    private static string Text(int raw) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{"PCBU"[(raw >> 14) & 3]}{(raw >> 12) & 3}{(raw >> 8) & 0xF:X}{raw & 0xFF:X2}");
}
