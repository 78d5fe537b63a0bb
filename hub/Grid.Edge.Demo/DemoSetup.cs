using Grid.Edge.Hub.Configuration;

namespace Grid.Edge.Demo;

/// <param name="Days">Days of history the demo devices backfill (only what the store lacks).</param>
internal sealed record DemoOptions(int Days);

/// <summary>What the demo changes of a hub: its devices, and settings that make it open usable at once.</summary>
internal static class DemoSetup
{
    public const int DefaultDays = 7;
    public const int MaxDays = 90;

    /// <summary>
    /// The guest view on (nobody has an account on a demo), and the station's altitude known, since its model gives
    /// sea-level pressure. Lowest precedence: settings given to the demo still win.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Defaults() => new Dictionary<string, string?>
    {
        [$"{HubOptions.Section}:GuestView"] = "true",
        [$"{HubOptions.Section}:Stations:{DemoDevices.WeatherDevice}:AltitudeM"] = "0",
    };

    public static void AddServices(IServiceCollection services, int days)
    {
        if (days is < 0 or > MaxDays)
            throw new HubConfigurationException($"--days {days}: the demo backfills 0 to {MaxDays} days of history.");
        services.AddSingleton(new DemoOptions(days));
        services.AddHostedService<DemoDevices>();
    }
}
