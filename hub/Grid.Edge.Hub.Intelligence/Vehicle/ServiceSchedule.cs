namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>Where a service item stands.</summary>
public enum ServiceStatus
{
    Ok,
    DueSoon,
    Due,
    Overdue,
}

/// <summary>A maintenance item with a distance and/or a time interval, and when it was last done.</summary>
public sealed record ServiceItem(string Id, string Name, double? IntervalKm, int? IntervalDays, double? DoneAtKm, DateOnly? DoneOn);

/// <summary>
/// Service-due rule (maintenance.md section 1): due soon at 90 % of the distance or 30 days before the date, due at
/// 100 %, overdue at 110 %; the worse of distance and time wins.
/// </summary>
public static class ServiceSchedule
{
    public static readonly IReadOnlyList<ServiceItem> Defaults =
    [
        new("oil", "Engine oil and filter", 15_000, 365, null, null),
        new("air-filter", "Air filter", 30_000, 730, null, null),
        new("cabin-filter", "Cabin filter", 15_000, 365, null, null),
        new("fuel-filter", "Fuel filter", 60_000, 1460, null, null),
        new("brake-fluid", "Brake fluid", null, 730, null, null),
        new("coolant", "Coolant", 100_000, 1825, null, null),
        new("tyres", "Tyre rotation and check", 10_000, 365, null, null),
        new("timing-belt", "Timing belt", 120_000, 2190, null, null),
    ];

    /// <summary>The item's status and what is used up (1.0 = due) by distance and by time.</summary>
    public static (ServiceStatus Status, double? DistanceShare, double? TimeShare) Evaluate(ServiceItem item, double? odometerKm, DateOnly today)
    {
        double? distance = item is { IntervalKm: { } interval, DoneAtKm: { } doneAt } && odometerKm is { } odo ? (odo - doneAt) / interval : null;
        double? time = item is { IntervalDays: { } days, DoneOn: { } doneOn } ? (today.DayNumber - doneOn.DayNumber) / (double)days : null;
        var status = ServiceStatus.Ok;
        if (distance is { } d)
            status = Worse(status, d >= 1.1 ? ServiceStatus.Overdue : d >= 1.0 ? ServiceStatus.Due : d >= 0.9 ? ServiceStatus.DueSoon : ServiceStatus.Ok);
        if (time is { } share && item.IntervalDays is { } interval2 && item.DoneOn is { } done)
        {
            var daysSince = today.DayNumber - done.DayNumber;
            status = Worse(status, share >= 1.1 ? ServiceStatus.Overdue : share >= 1.0 ? ServiceStatus.Due : daysSince >= interval2 - 30 ? ServiceStatus.DueSoon : ServiceStatus.Ok);
        }

        return (status, distance, time);
    }

    private static ServiceStatus Worse(ServiceStatus a, ServiceStatus b) => a >= b ? a : b;
}
