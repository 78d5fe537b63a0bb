namespace Grid.Edge.Hub.Intelligence.Vehicle;

/// <summary>What the fuel trims say (maintenance.md section 4); only meaningful warm and in closed loop.</summary>
public enum TrimVerdict
{
    NotEvaluated,
    Normal,
    Warning,
    Critical,
}

public static class FuelTrim
{
    /// <summary>
    /// Total trim STFT + LTFT in %, judged when the engine is warm (coolant over 70 degC) and in closed loop (PID 03 = 2):
    /// warning above 10 % LTFT or 15 % total, critical above 20 % total. Positive is lean (fuel added).
    /// </summary>
    public static TrimVerdict Judge(double shortTerm, double longTerm, double coolant, int fuelSystemState)
    {
        if (coolant <= 70 || fuelSystemState != 2)
            return TrimVerdict.NotEvaluated;
        var total = Math.Abs(shortTerm + longTerm);
        if (total > 20)
            return TrimVerdict.Critical;
        if (Math.Abs(longTerm) > 10 || total > 15)
            return TrimVerdict.Warning;
        return TrimVerdict.Normal;
    }
}
