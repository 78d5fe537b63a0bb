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
            _ => throw new NotSupportedException($"export kind {settings.KindName} is not supported yet"),
        };
    }
}
