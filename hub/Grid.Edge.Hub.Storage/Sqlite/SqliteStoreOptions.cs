namespace Grid.Edge.Hub.Storage.Sqlite;

public sealed class SqliteStoreOptions
{
    public const string DefaultFileName = "readings.db";

    /// <summary>Folder of the database file; created when missing.</summary>
    public required string DataDirectory { get; init; }

    public string FileName { get; init; } = DefaultFileName;

    /// <summary>Upper bound of readings in one group commit; bounds commit latency under a flood.</summary>
    public int MaxReadingsPerCommit { get; init; } = 20_000;

    /// <summary>
    /// How long the writer lingers for more appends before committing. Zero still groups whatever queued while
    /// the previous commit was syncing, which is where most of the grouping comes from.
    /// </summary>
    public TimeSpan CommitDelay { get; init; } = TimeSpan.Zero;

    public string DatabasePath => Path.Combine(DataDirectory, FileName);
}
