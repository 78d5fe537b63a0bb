using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Grid.Edge.Obd.Elm327;

/// <summary>
/// The baud rate each serial adapter last answered at, per device path, in a small JSON file in the agent's data folder
/// (<c>{"/dev/ttyUSB0": 38400}</c>), so that the next connection tries it first. Only a hint: a missing, damaged or
/// unreadable file means probing from the start, and the file is replaced at the next success.
/// </summary>
public sealed class BaudRateMemory
{
    public const string FileName = "obd-baud-rates.json";

    // A handful of adapters at most; more than this in the file is not ours to trust.
    private const int MostBytes = 64 * 1024;
    private const int MostDevices = 32;
    private const int LongestPath = 4096;

    private readonly Lock _sync = new();
    private readonly ILogger _logger;

    public BaudRateMemory(string filePath, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        FilePath = Path.GetFullPath(filePath);
        _logger = logger ?? NullLogger.Instance;
    }

    public string FilePath { get; }

    /// <summary>The rate <paramref name="device"/> last answered at, or null when none is known.</summary>
    public int? Recall(string device)
    {
        lock (_sync)
            return Load().TryGetValue(device, out var rate) ? rate : null;
    }

    /// <summary>Keeps <paramref name="baudRate"/> for <paramref name="device"/>; null when kept, else why it could not be.</summary>
    public string? Remember(string device, int baudRate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        if (!ElmBaudProbe.IsPlausible(baudRate))
            throw new ArgumentOutOfRangeException(nameof(baudRate), baudRate, "not a serial speed");
        lock (_sync)
        {
            var rates = Load();
            if (rates.TryGetValue(device, out var known) && known == baudRate)
                return null; // the same again: no write (the data folder is often an SD card)
            if (!rates.ContainsKey(device) && rates.Count >= MostDevices)
                rates.Remove(rates.Keys.First());
            rates[device] = baudRate;
            var temporary = $"{FilePath}.{Environment.ProcessId}.tmp";
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
                File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(rates));
                File.Move(temporary, FilePath, overwrite: true);
                return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                try
                {
                    File.Delete(temporary);
                }
                catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
                {
                    // Nothing more to do: the folder refuses writes.
                }

                return e.Message;
            }
        }
    }

    private Dictionary<string, int> Load()
    {
        var rates = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var file = new FileInfo(FilePath);
            if (!file.Exists)
                return rates;
            if (file.Length > MostBytes)
            {
                _logger.LogWarning("{File} is {Length} bytes, too large to be the remembered baud rates; ignored", FilePath, file.Length);
                return rates;
            }

            var read = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(FilePath));
            foreach (var (device, rate) in read ?? [])
            {
                if (rates.Count < MostDevices && device.Length is > 0 and <= LongestPath && ElmBaudProbe.IsPlausible(rate))
                    rates[device] = rate;
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("The remembered baud rates in {File} cannot be read ({Error}); probing from the start", FilePath, e.Message);
        }

        return rates;
    }
}
