namespace Grid.Edge.Hub.Exports;

/// <summary>The target for an export's kind.</summary>
internal static class ExportTargets
{
    public static IExportTarget Create(ExportSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Kind switch
        {
            ExportKind.Influx1 => new Influx1Target(settings),
            ExportKind.Influx2 => new Influx2Target(settings),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Kind, "an export kind without a target"),
        };
    }
}
