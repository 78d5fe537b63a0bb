using System.Collections.Frozen;

namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>How urgent a trouble code is (shared reference maintenance.md section 5).</summary>
public enum CodeSeverity
{
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>
/// Descriptions of the generic SAE J2012 codes people meet most (P0xxx powertrain, and the common C, B and U codes),
/// and the severity of a code by its family. Manufacturer codes (P1xxx, ...) get a generic description by group.
/// </summary>
public static class TroubleCodeCatalog
{
    private static readonly FrozenDictionary<string, string> Descriptions = new Dictionary<string, string>
    {
        ["P0010"] = "Camshaft position actuator circuit (bank 1)",
        ["P0011"] = "Camshaft position timing over-advanced (bank 1)",
        ["P0016"] = "Crankshaft/camshaft position correlation (bank 1, sensor A)",
        ["P0030"] = "O2 sensor heater control circuit (bank 1, sensor 1)",
        ["P0068"] = "MAP/MAF - throttle position correlation",
        ["P0087"] = "Fuel rail/system pressure too low",
        ["P0100"] = "Mass air flow circuit malfunction",
        ["P0101"] = "Mass air flow circuit range/performance",
        ["P0102"] = "Mass air flow circuit low input",
        ["P0103"] = "Mass air flow circuit high input",
        ["P0106"] = "Manifold absolute pressure circuit range/performance",
        ["P0110"] = "Intake air temperature circuit malfunction",
        ["P0113"] = "Intake air temperature circuit high input",
        ["P0115"] = "Engine coolant temperature circuit malfunction",
        ["P0117"] = "Engine coolant temperature circuit low input",
        ["P0118"] = "Engine coolant temperature circuit high input",
        ["P0120"] = "Throttle position sensor circuit malfunction",
        ["P0121"] = "Throttle position sensor range/performance",
        ["P0128"] = "Coolant temperature below thermostat regulating temperature",
        ["P0130"] = "O2 sensor circuit (bank 1, sensor 1)",
        ["P0131"] = "O2 sensor circuit low voltage (bank 1, sensor 1)",
        ["P0133"] = "O2 sensor circuit slow response (bank 1, sensor 1)",
        ["P0135"] = "O2 sensor heater circuit (bank 1, sensor 1)",
        ["P0141"] = "O2 sensor heater circuit (bank 1, sensor 2)",
        ["P0171"] = "System too lean (bank 1)",
        ["P0172"] = "System too rich (bank 1)",
        ["P0174"] = "System too lean (bank 2)",
        ["P0175"] = "System too rich (bank 2)",
        ["P0200"] = "Injector circuit malfunction",
        ["P0217"] = "Engine over-temperature condition",
        ["P0234"] = "Turbocharger/supercharger overboost",
        ["P0299"] = "Turbocharger/supercharger underboost",
        ["P0300"] = "Random/multiple cylinder misfire detected",
        ["P0301"] = "Cylinder 1 misfire detected",
        ["P0302"] = "Cylinder 2 misfire detected",
        ["P0303"] = "Cylinder 3 misfire detected",
        ["P0304"] = "Cylinder 4 misfire detected",
        ["P0305"] = "Cylinder 5 misfire detected",
        ["P0306"] = "Cylinder 6 misfire detected",
        ["P0325"] = "Knock sensor circuit (bank 1)",
        ["P0335"] = "Crankshaft position sensor A circuit",
        ["P0340"] = "Camshaft position sensor circuit",
        ["P0380"] = "Glow plug/heater circuit A",
        ["P0400"] = "Exhaust gas recirculation flow",
        ["P0401"] = "Exhaust gas recirculation flow insufficient",
        ["P0402"] = "Exhaust gas recirculation flow excessive",
        ["P0411"] = "Secondary air injection incorrect flow",
        ["P0420"] = "Catalyst system efficiency below threshold (bank 1)",
        ["P0430"] = "Catalyst system efficiency below threshold (bank 2)",
        ["P0440"] = "Evaporative emission system malfunction",
        ["P0441"] = "Evaporative emission system incorrect purge flow",
        ["P0442"] = "Evaporative emission system leak detected (small leak)",
        ["P0446"] = "Evaporative emission vent control circuit",
        ["P0455"] = "Evaporative emission system leak detected (large leak; check the fuel cap)",
        ["P0456"] = "Evaporative emission system leak detected (very small leak)",
        ["P0457"] = "Evaporative emission system leak detected (fuel cap loose or off)",
        ["P0500"] = "Vehicle speed sensor malfunction",
        ["P0505"] = "Idle air control system malfunction",
        ["P0507"] = "Idle air control system rpm higher than expected",
        ["P0520"] = "Engine oil pressure sensor/switch circuit",
        ["P0521"] = "Engine oil pressure sensor/switch range/performance",
        ["P0522"] = "Engine oil pressure sensor/switch low voltage",
        ["P0523"] = "Engine oil pressure sensor/switch high voltage",
        ["P0524"] = "Engine oil pressure too low",
        ["P0562"] = "System voltage low",
        ["P0563"] = "System voltage high",
        ["P0600"] = "Serial communication link",
        ["P0700"] = "Transmission control system malfunction",
        ["P0705"] = "Transmission range sensor circuit",
        ["P0715"] = "Input/turbine speed sensor circuit",
        ["P0740"] = "Torque converter clutch circuit",
        ["P2002"] = "Diesel particulate filter efficiency below threshold (bank 1)",
        ["P2463"] = "Diesel particulate filter restriction - soot accumulation",
        ["C0035"] = "Left front wheel speed sensor circuit",
        ["C0040"] = "Right front wheel speed sensor circuit",
        ["C0045"] = "Left rear wheel speed sensor circuit",
        ["C0050"] = "Right rear wheel speed sensor circuit",
        ["B0001"] = "Driver frontal stage 1 deployment control",
        ["B1000"] = "Electronic control unit fault",
        ["U0001"] = "High speed CAN communication bus",
        ["U0073"] = "Control module communication bus off",
        ["U0100"] = "Lost communication with ECM/PCM",
        ["U0101"] = "Lost communication with TCM",
        ["U0121"] = "Lost communication with anti-lock brake system module",
        ["U0140"] = "Lost communication with body control module",
        ["U0155"] = "Lost communication with instrument panel cluster",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>A description for a code like "P0171"; a group description when the exact code is not listed.</summary>
    public static string Describe(string code)
    {
        if (Descriptions.TryGetValue(code, out var text))
            return text;
        if (code.Length != 5)
            return "unknown code";
        var system = code[0] switch { 'P' => "Powertrain", 'C' => "Chassis", 'B' => "Body", 'U' => "Network", _ => "Unknown" };
        var owner = code[1] is '1' or '3' && code[0] != 'U' || code[1] == '1' ? "manufacturer-specific" : "generic";
        if (code[0] == 'P' && code[1] is '0' or '2')
        {
            var group = code[2] switch
            {
                '0' => "fuel and air metering, auxiliary emission controls",
                '1' or '2' => "fuel and air metering",
                '3' => "ignition system or misfire",
                '4' => "auxiliary emission controls",
                '5' => "vehicle speed, idle control and auxiliary inputs",
                '6' => "computer and output circuits",
                '7' or '8' or '9' => "transmission",
                _ => "powertrain",
            };
            return $"{system} ({owner}): {group}";
        }

        return $"{system} ({owner})";
    }

    /// <summary>Severity by code family (maintenance.md section 5), medium when nothing more is known.</summary>
    public static CodeSeverity Severity(string code)
    {
        if (code.Length != 5)
            return CodeSeverity.Medium;
        if (code == "P0217" || (code.StartsWith("P03", StringComparison.Ordinal) && int.TryParse(code.AsSpan(2), out var misfire) && misfire is >= 300 and <= 312)
            || code is "P0520" or "P0521" or "P0522" or "P0523" or "P0524")
            return CodeSeverity.Critical;
        if (code is "P0562" or "P0563" or "P0128" or "P0171" or "P0172" or "P0173" or "P0174" or "P0175" || code.StartsWith("U0", StringComparison.Ordinal))
            return CodeSeverity.High;
        if (code.StartsWith("P044", StringComparison.Ordinal) || code.StartsWith("P045", StringComparison.Ordinal))
            return CodeSeverity.Low;
        return CodeSeverity.Medium;
    }
}
