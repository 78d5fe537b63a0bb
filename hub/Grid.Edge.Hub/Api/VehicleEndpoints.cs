using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Intelligence.Vehicle;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Hub.Api;

/// <param name="ClearedAt">When a read of the vehicle's codes first came without this one (cleared, or healed), or null while it is stored.</param>
internal sealed record TroubleCodeInfo(string Code, string Description, string Severity, long FirstSeen, long LastSeen, int Times, long? ClearedAt);

internal sealed record BatteryNow(double Volts, bool EngineRunning, double? StateOfCharge, string Verdict, long T);

internal sealed record ServiceItemResponse(string Id, string Name, double? IntervalKm, int? IntervalDays, double? DoneAtKm, DateOnly? DoneOn, string Status, double? DistanceShare, double? TimeShare);

internal sealed record ServiceResponse(string Device, double? OdometerKm, double EngineHours, IReadOnlyList<ServiceItemResponse> Items);

internal sealed record OdometerRequest(double? Km);

internal sealed record ServiceDoneRequest(double? Km, DateOnly? On);

internal sealed record ServiceItemRequest(string? Name, double? IntervalKm, int? IntervalDays);

internal sealed record VehicleNowResponse(string Device, BatteryNow? Battery, IReadOnlyList<TroubleCodeInfo> Codes, string? WorstSeverity);

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
                    // When the codes were read (each read reports dtc_count), to tell when a code stopped being reported.
                    var reads = new SeriesKey(device, "dtc_count");
                    var readTimes = store.TryGetSeries(reads, out _)
                        ? (await store.ReadRangeAsync(reads, now - (30L * 86_400_000), now + 60_000, 100_000, cancellationToken: cancellationToken)).Select(p => p.TimestampMs).ToArray()
                        : [];
                    foreach (var group in points.GroupBy(p => (int)p.Value))
                    {
                        var code = Text(group.Key);
                        var lastSeen = group.Max(p => p.TimestampMs);

                        // The first read more than a minute after the code was last seen (a later read) did not have it.
                        var later = Array.BinarySearch(readTimes, lastSeen + 60_000);
                        later = later < 0 ? ~later : later;
                        long? clearedAt = later < readTimes.Length ? readTimes[later] : null;

                        codes.Add(new TroubleCodeInfo(code, TroubleCodeCatalog.Describe(code), TroubleCodeCatalog.Severity(code).ToString().ToLowerInvariant(), group.Min(p => p.TimestampMs), lastSeen, group.Count(), clearedAt));
                    }
                }

                BatteryNow? battery = null;
                if (store.TryGetSeries(new SeriesKey(device, "battery_voltage"), out var volts))
                {
                    var running = store.TryGetSeries(new SeriesKey(device, "engine_running"), out var engine) && engine.LatestValue > 0;
                    var verdict = running ? BatteryHealth.Running(volts.LatestValue) : BatteryHealth.Resting(volts.LatestValue);
                    battery = new BatteryNow(volts.LatestValue, running, running ? null : Math.Round(BatteryHealth.StateOfCharge(volts.LatestValue)), verdict.ToString(), volts.LatestMs);
                }

                var stored = codes.Where(c => c.ClearedAt is null).ToList();
                var worst = stored.Count == 0 ? null : stored.Max(c => Enum.Parse<CodeSeverity>(c.Severity, ignoreCase: true)).ToString().ToLowerInvariant();
                return Results.Ok(new VehicleNowResponse(device, battery, codes.OrderByDescending(c => c.LastSeen).ToList(), worst));
            })
            .Produces<VehicleNowResponse>()
            .WithSummary("A vehicle's trouble codes of the last 30 days with descriptions, severity, first and last seen, and when they were cleared; its battery's state of charge (at rest) or charging state (engine running).");

        app.MapGet("/api/vehicle/{device}/service", (string device, DeviceRegistry devices, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book) =>
                UnknownDevice(device, devices) ?? Results.Ok(Service(device, tracker, book)))
            .Produces<ServiceResponse>()
            .WithSummary("The vehicle's virtual odometer, engine hours and service items with their status (ok, dueSoon, due, overdue).");

        app.MapPost("/api/vehicle/{device}/odometer", async (string device, OdometerRequest? request, DeviceRegistry devices, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book) =>
            {
                if (UnknownDevice(device, devices) is { } unknown)
                    return unknown;
                if (request?.Km is not { } km || km is < 0 or > 10_000_000)
                    return Results.BadRequest(new ErrorResponse("give the dashboard odometer in km: {\"km\": 185000}"));
                await tracker.AnchorAsync(device, km);
                return Results.Ok(Service(device, tracker, book));
            })
            .WithSummary("Sets the virtual odometer to what the vehicle's dashboard shows (once; it then counts on by itself).");

        app.MapPost("/api/vehicle/{device}/service/{item}/done", async (string device, string item, ServiceDoneRequest? request, DeviceRegistry devices, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book) =>
                UnknownDevice(device, devices) ?? (await tracker.MarkDoneAsync(device, item, request?.Km, request?.On)
                    ? Results.Ok(Service(device, tracker, book))
                    : Results.NotFound(new ErrorResponse($"no service item '{item}'"))))
            .WithSummary("Marks a service item done: now at the current odometer, or at the km and date given.");

        app.MapPut("/api/vehicle/{device}/service/{item}", async (string device, string item, ServiceItemRequest? request, DeviceRegistry devices, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book) =>
            {
                if (UnknownDevice(device, devices) is { } unknown)
                    return unknown;
                if (ServiceItemProblem(item, request) is { } problem)
                    return Results.BadRequest(new ErrorResponse(problem));
                await tracker.SetItemAsync(device, item, request!.Name!.Trim(), request.IntervalKm, request.IntervalDays);
                return Results.Ok(Service(device, tracker, book));
            })
            .Produces<ServiceResponse>()
            .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
            .WithSummary("Adds a service item or changes its name and intervals: {\"name\": \"Engine oil\", \"intervalKm\": 10000, \"intervalDays\": 365}.");

        app.MapDelete("/api/vehicle/{device}/service/{item}", async (string device, string item, DeviceRegistry devices, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book) =>
                UnknownDevice(device, devices) ?? (await tracker.RemoveItemAsync(device, item)
                    ? Results.Ok(Service(device, tracker, book))
                    : Results.NotFound(new ErrorResponse($"no service item '{item}'"))))
            .WithSummary("Removes a service item the vehicle does not have.");
    }

    /// <summary>
    /// Vehicle records (and the series derived from them) exist only for devices this hub has heard from, named by
    /// the rule of device ids everywhere (a topic segment): a request cannot invent devices or series.
    /// </summary>
    private static IResult? UnknownDevice(string device, DeviceRegistry devices)
    {
        if (!GridTopic.IsValidSegment(device, out var error))
            return Results.BadRequest(new ErrorResponse($"the device id {error}"));
        return devices.TryGet(device, out _)
            ? null
            : Results.NotFound(new ErrorResponse($"no device '{device}' has reported to this hub; GET /api/devices lists them"));
    }

    private static string? ServiceItemProblem(string item, ServiceItemRequest? request)
    {
        if (item.Length is 0 or > 40 || !item.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            return $"'{item}' is not a service item id: use 1-40 of a-z 0-9 -, like 'gearbox-oil'";
        if (request is null || string.IsNullOrWhiteSpace(request.Name) || request.Name.Trim().Length > 80)
            return "give the item a name of 1-80 characters";
        if (request.IntervalKm is null && request.IntervalDays is null)
            return "give an interval in km (intervalKm), in days (intervalDays), or both";
        if (request.IntervalKm is < 100 or > 1_000_000)
            return "intervalKm must be between 100 and 1,000,000";
        if (request.IntervalDays is < 1 or > 7300)
            return "intervalDays must be between 1 and 7300 (20 years)";
        return null;
    }

    private static ServiceResponse Service(string device, Vehicles.VehicleTracker tracker, Vehicles.VehicleBook book)
    {
        var record = book.Get(device);
        var items = tracker.Service(device).Select(s => new ServiceItemResponse(
            s.Item.Id, s.Item.Name, s.Item.IntervalKm, s.Item.IntervalDays, s.Item.DoneAtKm, s.Item.DoneOn,
            char.ToLowerInvariant(s.Status.ToString()[0]) + s.Status.ToString()[1..], s.DistanceShare is { } d ? Math.Round(d, 3) : null, s.TimeShare is { } t ? Math.Round(t, 3) : null)).ToList();
        return new ServiceResponse(device, record?.OdometerKm is { } odo ? Math.Round(odo, 1) : null, Math.Round((record?.EngineSeconds ?? 0) / 3600, 2), items);
    }

    // SAE J2012: the two code bytes as one number, e.g. 0x0171 -> P0171.
    private static string Text(int raw) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{"PCBU"[(raw >> 14) & 3]}{(raw >> 12) & 3}{(raw >> 8) & 0xF:X}{raw & 0xFF:X2}");
}
