using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Grid.Edge.Hub.Storage.Chunks;
using Grid.Edge.Hub.Storage.Compression;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Benchmarks.Micro;

/// <summary>The per-reading costs of the ingest path, one piece at a time.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const long T0 = 1_795_341_600_000;
    private readonly ReadingDecoder _decoder = new();
    private byte[] _batch = [];
    private long[] _times = [];
    private double[] _walk = [];
    private double[] _random = [];
    private byte[] _walkChunk = [];
    private List<Reading> _readings = [];
    private byte[] _columnsMessage = [];
    private List<SeriesColumns> _decodedColumns = [];
    private ChunkedTimeSeriesStore _store = null!;
    private string _dir = "";
    private long _round;

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder("{\"readings\":[");
        for (var s = 0; s < 1000; s++)
            text.Append(CultureInfo.InvariantCulture, $"{(s > 0 ? "," : "")}{{\"m\":\"s{s:D4}\",\"v\":{20 + s % 50 / 10.0:0.0},\"t\":{T0}}}");
        _batch = Encoding.ASCII.GetBytes(text.Append("]}").ToString());
        var random = new Random(1);
        _times = Enumerable.Range(0, 3600).Select(i => T0 + i * 1000L).ToArray();
        var k = 200;
        _walk = _times.Select(_ => (k += random.Next(-1, 2)) / 10.0).ToArray();
        _random = _times.Select(_ => random.NextDouble() * 100).ToArray();
        _walkChunk = ChunkCodec.Encode(_times, _walk);
        _readings = _decoder.Decode("grid/bench/batch", _batch, T0 + 1000).Readings;
        var columns = new ColumnBatchWriter();
        for (var s = 0; s < 100; s++)
            columns.Add($"s{s:D4}", "", _times.AsSpan(0, 50), _walk.AsSpan(s, 50));
        _columnsMessage = columns.ToArray();
        _decodedColumns = _decoder.Decode("grid/bench/columns", _columnsMessage, T0 + 3_600_000).Columns;
        _dir = Path.Combine(Path.GetTempPath(), "grid-edge-micro", Guid.NewGuid().ToString("N"));
        _store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = _dir });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "decode a 1000-reading batch (JSON, validation, units)")]
    public int DecodeBatch() => _decoder.Decode("grid/bench/batch", _batch, T0 + 1000).Readings.Count;

    [Benchmark(Description = "decode a 5000-point columns message (100 series x 50, validation)")]
    public int DecodeColumns() => _decoder.Decode("grid/bench/columns", _columnsMessage, T0 + 3_600_000).Columns.Count;

    [Benchmark(Description = "encode 3600 points, 1-decimal walk")]
    public int EncodeWalk() => ChunkCodec.Encode(_times, _walk).Length;

    [Benchmark(Description = "encode 3600 points, random float64")]
    public int EncodeRandom() => ChunkCodec.Encode(_times, _random).Length;

    [Benchmark(Description = "decode 3600 points, 1-decimal walk")]
    public int DecodeWalk() => ChunkCodec.Decode(_walkChunk).Timestamps.Length;

    [Benchmark(Description = "engine: append 1000 readings (log + fsync + buffers)")]
    public async Task<int> Append()
    {
        var t = T0 + ++_round * 1000;
        var readings = _readings.Select(r => r with { TimestampMs = t }).ToList();
        return (await _store.AppendAsync(readings)).Inserted;
    }

    [Benchmark(Description = "engine: append 5000 points as columns, 100 series (log + fsync + buffers)")]
    public async Task<int> AppendColumns()
    {
        var t = T0 + ++_round * 50_000;
        // New times each round (the same ones again would be duplicates): a copy of 5000 longs.
        var columns = _decodedColumns.Select(c => c with { Times = c.Times.Select(x => x - T0 + t).ToArray() }).ToList();
        return (await _store.AppendColumnsAsync(columns)).Inserted;
    }
}

/// <summary>W6's raw read at engine level: 24 h of one 1 Hz series (86,400 points in 24 chunks).</summary>
[MemoryDiagnoser]
public class RawReadBenchmarks
{
    private const long T0 = 1_795_341_600_000;
    private ChunkedTimeSeriesStore _store = null!;
    private string _dir = "";
    private readonly SeriesKey _key = new("bench24", "day");

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "grid-edge-micro", Guid.NewGuid().ToString("N"));
        _store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = _dir });
        var readings = Enumerable.Range(0, 86_400).Select(i => new Reading(_key, T0 + i * 1000L, 20 + i % 100 / 10.0, string.Empty)).ToList();
        _store.AppendAsync(readings).AsTask().GetAwaiter().GetResult();
        _store.CheckpointAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "engine: read 24 h raw of one 1 Hz series (86,400 points)")]
    public async Task<int> ReadDay() => (await _store.ReadRangeAsync(_key, T0, T0 + 86_400_000L, 100_000)).Count;

    [Benchmark(Description = "engine: 1-minute means over 24 h of one series (rollups)")]
    public async Task<int> MinuteMeans() => (await _store.ReadAggregatedAsync(_key, T0, T0 + 86_400_000L, 60_000)).Count;
}

/// <summary>W6's second query at engine level: 1-minute means of 1000 series over 33 minutes.</summary>
[MemoryDiagnoser]
public class ManySeriesBenchmarks
{
    private const long T0 = 1_795_341_600_000;
    private ChunkedTimeSeriesStore _store = null!;
    private string _dir = "";
    private List<SeriesKey> _keys = [];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "grid-edge-micro", Guid.NewGuid().ToString("N"));
        _store = ChunkedTimeSeriesStore.Open(new ChunkStoreOptions { DataDirectory = _dir });
        _keys = Enumerable.Range(0, 1000).Select(s => new SeriesKey("bench", $"s{s:D4}")).ToList();
        for (var i = 0; i < 2000; i++)
            _store.AppendAsync(_keys.Select((k, s) => new Reading(k, T0 + i * 1000L, 20 + (s + i) % 30 / 10.0, string.Empty)).ToList()).AsTask().GetAwaiter().GetResult();
        _store.CheckpointAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "engine: 1-minute means of 1000 series over 33 min (rollups)")]
    public async Task<int> MinuteMeans() => (await _store.ReadAggregatedAsync(_keys, T0, T0 + 2_000_000, 60_000)).Count;
}
