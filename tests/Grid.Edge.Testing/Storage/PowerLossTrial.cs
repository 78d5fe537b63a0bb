using Grid.Edge.Hub.Storage.Chunks;

namespace Grid.Edge.Testing.Storage;

/// <summary>
/// One power cut: a seeded workload runs against a store whose log is on a <see cref="SimulatedDisk"/>, the power
/// goes at a random operation (or once the workload is done), and a store opened on what survived must hold every
/// acknowledged reading. Used by the test suite (hundreds of seeds) and the benchmark tool (thousands).
/// </summary>
internal static class PowerLossTrial
{
    /// <param name="Problem">Null when the store opened and held every acknowledged reading.</param>
    public sealed record Result(int Seed, int CutAt, int Ops, int Acknowledged, string? Problem);

    public static async Task<Result> RunAsync(int seed, string folder)
    {
        var random = new Random(seed);
        var live = Path.Combine(folder, "live");
        var after = Path.Combine(folder, "after");
        Directory.CreateDirectory(live);
        var appends = random.Next(4, 12);

        // About two operations per append (write, fsync) and a few per checkpoint: most cuts land in the workload.
        var disk = new SimulatedDisk(seed) { SqliteFolder = live, CutPowerAtOp = random.Next(1, 5 * appends) };
        var workload = new StoreWorkload(seed, lanes: 3, appendsPerLane: appends);
        var options = new ChunkStoreOptions
        {
            DataDirectory = live,
            Files = disk,
            CheckpointPoints = random.Next(8, 100),
            MaxChunkPoints = 16,
            CheckpointInterval = TimeSpan.FromHours(1),
            RecoveryInterval = TimeSpan.FromMilliseconds(1),
        };
        try
        {
            var store = ChunkedTimeSeriesStore.Open(options);
            try
            {
                await workload.RunAsync(store);
                disk.CutPower();
            }
            finally
            {
                await store.DisposeAsync();
            }
        }
        catch (IOException) when (disk.PoweredOff)
        {
            // The power went while the store opened.
        }

        disk.WriteImage(after);
        try
        {
            await using var reopened = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = after, MaxChunkPoints = 16 });
            return new Result(seed, disk.CutPowerAtOp ?? 0, disk.Ops, workload.Acknowledged, await workload.VerifyAsync(reopened));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
        {
            return new Result(seed, disk.CutPowerAtOp ?? 0, disk.Ops, workload.Acknowledged, "the store did not open: " + ex.Message);
        }
    }
}
