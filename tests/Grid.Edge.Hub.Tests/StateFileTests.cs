using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Derived;
using Grid.Edge.Hub.Tests.Support;
using Grid.Edge.Hub.Vehicles;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Hub.Tests;

/// <summary>The hub's small state files on a real disk: concurrent saves, damaged files at start, a failing disk.</summary>
public sealed class StateFileTests : IDisposable
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string VehiclesFile => Path.Combine(_dir.Path, VehicleBook.FileName);

    [Fact]
    public async Task Concurrent_saves_of_vehicles_json_never_leave_a_torn_file_and_the_last_state_wins()
    {
        var book = VehicleBook.Open(_dir.Path, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var unreadable = new List<string>();
        // A fleet, so that each save takes a while and saves overlap.
        for (var v = 0; v < 50; v++)
            book.Update($"van{v}", r => r.EngineSeconds = 0);
        book.Save();
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                reading.TrySetResult();
                var text = File.ReadAllText(VehiclesFile);
                try
                {
                    JsonSerializer.Deserialize<Dictionary<string, VehicleRecord>>(text, WebJson);
                }
                catch (JsonException)
                {
                    unreadable.Add(text);
                }
            }
        });

        // Eight vehicles changed and saved at once, as the tracker's timer and people's changes over HTTP do.
        await reading.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var savers = Enumerable.Range(0, 8).Select(v => Task.Run(() =>
        {
            for (var n = 1; n <= 25; n++)
            {
                book.Update($"van{v}", r => r.EngineSeconds = n);
                book.Save();
            }
        })).ToArray();
        await Task.WhenAll(savers);
        await stop.CancelAsync();
        await reader;

        Assert.Empty(unreadable);
        Assert.Equal([VehiclesFile], Directory.GetFiles(_dir.Path));
        var reopened = VehicleBook.Open(_dir.Path, NullLogger.Instance);
        Assert.All(Enumerable.Range(0, 8), v => Assert.Equal(25, reopened.Get($"van{v}")!.EngineSeconds));
    }

    [Fact]
    public async Task A_torn_vehicles_file_and_rain_resets_file_are_moved_aside_with_a_warning_and_the_hub_starts()
    {
        await File.WriteAllTextAsync(VehiclesFile, """{"van1":{"distance":{"odometer":1850""");
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, RainTotals.FileName), """{"roof":17953""");

        await using var hub = await InProcessHub.StartAsync(dataDir: _dir.Path);

        foreach (var (name, content) in new[] { (VehicleBook.FileName, "1850"), (RainTotals.FileName, "17953") })
        {
            var aside = Assert.Single(Directory.GetFiles(_dir.Path, name + ".damaged-*"));
            Assert.EndsWith(content, await File.ReadAllTextAsync(aside), StringComparison.Ordinal);
            Assert.Contains(hub.Logs.Warnings, w => w.Contains(name, StringComparison.Ordinal) && w.Contains("moved to", StringComparison.Ordinal));
        }

        // Both work afresh: the van gets its default service items, a rain reset is written to a new file.
        Assert.NotEmpty(hub.Services.GetRequiredService<VehicleTracker>().Service("van1"));
        hub.Services.GetRequiredService<RainTotals>().Reset("roof");
        Assert.Contains("roof", await File.ReadAllTextAsync(Path.Combine(_dir.Path, RainTotals.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_save_is_logged_and_the_vehicle_tracker_carries_on_until_the_disk_is_back()
    {
        await using var hub = await InProcessHub.StartAsync(dataDir: _dir.Path);

        // vehicles.json cannot be replaced while a folder of that name is in the way: every save fails with an I/O error.
        Directory.CreateDirectory(Path.Combine(VehiclesFile, "in-the-way"));
        using var client = await TestMqtt.ConnectAsync(hub.Mqtt);
        const long t0 = 1_795_330_000_000;
        await client.PublishAsync("grid/faulty-van/run_time", $$"""{"v":0,"t":{{t0}}}""");
        await Eventually.WaitForAsync(
            () => Task.FromResult(hub.Logs.Errors.Any(e => e.Contains($"Failed to save {VehicleBook.FileName}", StringComparison.Ordinal))),
            failed => failed,
            "the failed save to be logged");

        // The hub and the tracker go on: a later reading is stored and the tracker's series follow it.
        await client.PublishAsync("grid/faulty-van/run_time", $$"""{"v":3600,"t":{{t0 + 3_600_000}}}""");
        await Eventually.WaitForAsync(
            () => hub.GetAsync<List<SeriesResponse>>("/api/series"),
            series => series!.Any(s => s.Id == "faulty-van/engine_hours" && s.Latest.V == 1.0),
            "engine hours from the later reading");

        // Once the way is clear, the next periodic save writes the records.
        Directory.Delete(VehiclesFile, recursive: true);
        await Eventually.WaitForAsync(
            () => Task.FromResult(File.Exists(VehiclesFile) ? File.ReadAllText(VehiclesFile) : string.Empty),
            text => text.Contains("faulty-van", StringComparison.Ordinal),
            "vehicles.json written after the fault cleared");
        using var health = await hub.Http.GetAsync("/api/health");
        Assert.True(health.IsSuccessStatusCode);
    }
}
