using System.Text.Json;
using Grid.Edge.Hub.Intelligence.Vehicle;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Vehicles;

/// <summary>What the hub keeps about one vehicle between readings: its virtual odometer, engine hours and service items.</summary>
internal sealed class VehicleRecord
{
    public DistanceKeeper Distance { get; set; } = new();

    [System.Text.Json.Serialization.JsonIgnore]
    public double? OdometerKm => Distance.Odometer;

    public double EngineSeconds { get; set; }

    public double? LastRunTime { get; set; }

    public List<ServiceItem> Service { get; set; } = [.. ServiceSchedule.Defaults];
}

/// <summary>
/// <c>&lt;data-dir&gt;/vehicles.json</c>: the vehicles' records, written atomically when they changed (at most every
/// few seconds, and at shutdown) so an odometer anchor or a service marked done is never lost.
/// </summary>
internal sealed class VehicleBook(string dataDir)
{
    public const string FileName = "vehicles.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly Lock _sync = new();

    // Saves take turns from taking the copy to replacing the file, so an older copy never lands after a newer one.
    private readonly Lock _saving = new();
    private Dictionary<string, VehicleRecord>? _records;
    private bool _dirty;

    private string Path => System.IO.Path.Combine(dataDir, FileName);

    /// <summary>Runs <paramref name="change"/> on a vehicle's record (created on first use) under the book's lock.</summary>
    public T Update<T>(string device, Func<VehicleRecord, T> change)
    {
        lock (_sync)
        {
            var records = Records();
            if (!records.TryGetValue(device, out var record))
                records[device] = record = new VehicleRecord();
            _dirty = true;
            return change(record);
        }
    }

    public VehicleRecord? Get(string device)
    {
        lock (_sync)
            return Records().GetValueOrDefault(device);
    }

    /// <summary>Writes the file if anything changed.</summary>
    public void Save()
    {
        lock (_saving)
        {
            string text;
            lock (_sync)
            {
                if (!_dirty || _records is null)
                    return;
                text = JsonSerializer.Serialize(_records, Json);
                _dirty = false;
            }

            try
            {
                DurableFile.WriteAllText(Path, text);
            }
            catch
            {
                lock (_sync)
                    _dirty = true; // written with the next save
                throw;
            }
        }
    }

    /// <summary>
    /// Reads the file when the hub starts. A damaged one (cut short, or edited by hand) is moved aside for a person to
    /// look at, with a warning, and the vehicles start afresh rather than keeping the hub from starting.
    /// </summary>
    public static VehicleBook Open(string dataDir, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        var book = new VehicleBook(dataDir);
        try
        {
            book.Records();
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            var aside = DurableFile.SetAside(book.Path);
            logger.LogWarning("{Path} cannot be read ({Error}); moved to {Aside}, the vehicles' odometers and service records start afresh (set them again, or repair the file and put it back while the hub is stopped)", book.Path, e.Message, aside);
            book._records = null;
            book.Records();
        }

        return book;
    }

    private Dictionary<string, VehicleRecord> Records()
    {
        if (_records is not null)
            return _records;
        _records = File.Exists(Path)
            ? JsonSerializer.Deserialize<Dictionary<string, VehicleRecord>>(File.ReadAllText(Path), Json) ?? []
            : [];
        return _records;
    }
}
