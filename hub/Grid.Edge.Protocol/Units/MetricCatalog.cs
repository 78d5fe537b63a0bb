using System.Collections.Frozen;

namespace Grid.Edge.Protocol.Units;

/// <summary>
/// The metrics the hub knows by name, each with one canonical unit (DESIGN section 3). A reading of a known
/// metric in another known unit is converted; in a unit we cannot convert it is rejected. Metrics not listed
/// here are stored with the unit their device declares.
/// </summary>
internal static class MetricCatalog
{
    private static readonly UnitConversion[] Temperature =
    [
        new("degF", "degC", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
        new("K", "degC", 1.0, -273.15),
    ];

    private static readonly UnitConversion[] Pressure =
    [
        new("Pa", "hPa", 0.01, 0),
        new("kPa", "hPa", 10, 0),
        new("bar", "hPa", 1000, 0),
        new("inHg", "hPa", 33.8638866667, 0),
        new("mmHg", "hPa", 1.33322387415, 0),
        new("psi", "hPa", 68.9475729318, 0),
    ];

    private static readonly UnitConversion[] PressureKpa =
    [
        new("hPa", "kPa", 0.1, 0),
        new("Pa", "kPa", 0.001, 0),
        new("bar", "kPa", 100, 0),
        new("psi", "kPa", 6.89475729318, 0),
        new("inHg", "kPa", 3.38638866667, 0),
    ];

    private static readonly UnitConversion[] WindSpeed =
    [
        new("km/h", "m/s", 1 / 3.6, 0),
        new("mph", "m/s", 0.44704, 0),
        new("kn", "m/s", 1852.0 / 3600.0, 0),
    ];

    private static readonly UnitConversion[] VehicleSpeed =
    [
        new("mph", "km/h", 1.609344, 0),
        new("m/s", "km/h", 3.6, 0),
        new("kn", "km/h", 1.852, 0),
    ];

    private static readonly UnitConversion[] Depth =
    [
        new("in", "mm", 25.4, 0),
        new("cm", "mm", 10, 0),
    ];

    private static readonly UnitConversion[] DepthRate = [new("in/h", "mm/h", 25.4, 0)];

    private static readonly UnitConversion[] Distance =
    [
        new("mi", "km", 1.609344, 0),
        new("m", "km", 0.001, 0),
    ];

    private static readonly UnitConversion[] Voltage = [new("mV", "V", 0.001, 0)];

    private static readonly UnitConversion[] Duration =
    [
        new("ms", "s", 0.001, 0),
        new("min", "s", 60, 0),
        new("h", "s", 3600, 0),
    ];

    private static readonly UnitConversion[] FuelRate = [new("gal/h", "L/h", 3.785411784, 0)];

    private static readonly UnitConversion[] MassFlow = [new("kg/h", "g/s", 1000.0 / 3600.0, 0)];

    private static readonly UnitConversion[] None = [];

    private static readonly MetricDefinition[] Definitions =
    [
        // Weather
        new("temperature", "degC", "Air temperature", -90, 70, Temperature),
        new("humidity", "%", "Relative humidity", 0, 100, None),
        new("pressure", "hPa", "Station (absolute) air pressure", 300, 1100, Pressure),
        new("sea_level_pressure", "hPa", "Pressure reduced to sea level", 850, 1090, Pressure),
        new("dew_point", "degC", "Dew point", -90, 70, Temperature),
        new("heat_index", "degC", "Heat index (US NWS): how hot humid air feels, from 26.7 degC", -90, 100, Temperature),
        new("wind_chill", "degC", "Wind chill (NWS / Environment Canada 2001), at 10 degC and below", -100, 70, Temperature),
        new("pressure_tendency", "hPa", "Pressure change over the last 3 hours", -100, 100, Pressure),
        new("forecast", "", "Zambretti forecast number 1-32 (texts in README)", 1, 32, None),
        new("wind_speed", "m/s", "Mean wind speed", 0, 120, WindSpeed),
        new("wind_gust", "m/s", "Wind gust", 0, 120, WindSpeed),
        new("wind_direction", "deg", "Direction the wind comes from, clockwise from true north", 0, 360, None),
        new("rain", "mm", "Rain since the device's last report", 0, 1000, Depth),
        new("rain_total", "mm", "Cumulative rain counter of the gauge", 0, 1e7, Depth),
        new("rain_rate", "mm/h", "Rain rate", 0, 2000, DepthRate),
        new("rain_last_hour", "mm", "Rain in the hour up to the reading (derived by the hub)", 0, 10_000, Depth),
        new("rain_last_24h", "mm", "Rain in the 24 hours up to the reading (derived by the hub)", 0, 100_000, Depth),
        new("rain_today", "mm", "Rain since local midnight of the hub (derived by the hub)", 0, 100_000, Depth),
        new("rain_since_reset", "mm", "Rain since the station's rain total was last reset on the hub", 0, 1e7, Depth),
        new("wind_speed_mean", "m/s", "Mean wind speed over the last 10 minutes (derived by the hub)", 0, 120, WindSpeed),
        new("wind_direction_mean", "deg", "Speed-weighted vector mean wind direction over the last 10 minutes", 0, 360, None),
        new("wind_gust_max", "m/s", "Strongest gust (or wind speed) of the last 10 minutes", 0, 120, WindSpeed),
        new("illuminance", "lux", "Illuminance", 0, 200_000, None),
        new("uv_index", "", "UV index", 0, 20, None),
        new("soil_moisture", "%", "Volumetric soil moisture", 0, 100, None),

        // Vehicle (OBD-II service 01 and the ELM327 adapter)
        new("rpm", "rpm", "Engine speed", 0, 16383.75, None),
        new("speed", "km/h", "Vehicle speed", 0, 400, VehicleSpeed),
        new("coolant_temp", "degC", "Engine coolant temperature", -40, 215, Temperature),
        new("intake_temp", "degC", "Intake air temperature", -40, 215, Temperature),
        new("oil_temp", "degC", "Engine oil temperature", -40, 215, Temperature),
        new("ambient_temp", "degC", "Ambient air temperature (vehicle sensor)", -40, 215, Temperature),
        new("engine_load", "%", "Calculated engine load", 0, 100, None),
        new("throttle", "%", "Throttle position", 0, 100, None),
        new("fuel_level", "%", "Fuel tank level", 0, 100, None),
        new("fuel_rate", "L/h", "Engine fuel rate", 0, 3276.75, FuelRate),
        new("maf", "g/s", "Mass air flow", 0, 655.35, MassFlow),
        new("map", "kPa", "Intake manifold absolute pressure", 0, 255, PressureKpa),
        new("baro", "kPa", "Absolute barometric pressure (vehicle sensor)", 0, 255, PressureKpa),
        new("fuel_pressure", "kPa", "Fuel pressure (gauge)", 0, 765, PressureKpa),
        new("stft1", "%", "Short-term fuel trim, bank 1", -100, 99.3, None),
        new("ltft1", "%", "Long-term fuel trim, bank 1", -100, 99.3, None),
        new("stft2", "%", "Short-term fuel trim, bank 2", -100, 99.3, None),
        new("ltft2", "%", "Long-term fuel trim, bank 2", -100, 99.3, None),
        new("timing_advance", "deg", "Timing advance before TDC", -64, 63.5, None),
        new("battery_voltage", "V", "Battery / supply voltage", 0, 65.535, Voltage),
        new("odometer", "km", "Odometer", 0, 429_496_729.5, Distance),
        new("distance_since_clear", "km", "Distance since trouble codes were cleared", 0, 65535, Distance),
        new("distance_with_mil", "km", "Distance travelled with the MIL on", 0, 65535, Distance),
        new("run_time", "s", "Run time since engine start", 0, 65535, Duration),
        new("dtc_count", "", "Number of stored trouble codes", 0, 127, None),
        new("dtc_new", "", "Trouble codes in the latest read not reported in the 30 days before (derived by the hub)", 0, 1000, None),
        new("dtc", "", "A diagnostic trouble code: its two SAE J2012 bytes as one number (369 = 0x0171 = P0171)", 1, 65535, None),
        new("dtc_pending", "", "A pending trouble code (service 07), encoded as dtc", 1, 65535, None),
        new("dtc_permanent", "", "A permanent trouble code (service 0A), encoded as dtc", 1, 65535, None),
        new("mil", "", "Malfunction indicator lamp (check engine): 1 on, 0 off", 0, 1, None),
        new("virtual_odometer", "km", "The hub's odometer: anchored once, then counted on from the vehicle's odometer, distance since clear or speed", 0, 10_000_000, Distance),
        new("engine_hours", "h", "Engine hours counted by the hub from run time since start", 0, 1_000_000, None),
        new("service_due", "", "Service items due or overdue", 0, 100, None),
        new("engine_running", "", "Engine running: 1 yes, 0 no (ignition off or engine stopped)", 0, 1, None),
        new("ecu_voltage", "V", "Control module supply voltage (PID 42)", 0, 65.535, Voltage),
        new("warmups_since_clear", "", "Warm-ups since trouble codes were cleared", 0, 255, None),
        new("time_with_mil", "s", "Engine run time with the MIL on", 0, 65535 * 60, Duration),
        new("time_since_clear", "s", "Engine run time since trouble codes were cleared", 0, 65535 * 60, Duration),
        new("latitude", "deg", "GPS latitude", -90, 90, None),
        new("longitude", "deg", "GPS longitude", -180, 180, None),
        new("altitude", "m", "GPS altitude above mean sea level", -500, 10_000, None),

        // Device health
        new("uptime", "s", "Device uptime", 0, 1e10, Duration),
        new("rssi", "dBm", "Wi-Fi signal strength", -150, 0, None),
        new("supply_voltage", "V", "Device supply voltage", 0, 60, Voltage),
        new("dropped_readings", "", "Readings the device had to drop (buffer full, damaged, or never dated), cumulative", 0, 4_294_967_295, None),
        new("outbox_depth", "", "Readings waiting in the agent's outbox for the hub", 0, 1e10, None),
        new("outbox_oldest_age", "s", "Age of the oldest reading waiting in the agent's outbox", 0, 1e10, Duration),
    ];

    private static readonly FrozenDictionary<string, MetricDefinition> ByName =
        Definitions.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static IReadOnlyCollection<MetricDefinition> All => Definitions;

    public static bool TryGet(string metric, out MetricDefinition definition) =>
        ByName.TryGetValue(metric, out definition!);
}
