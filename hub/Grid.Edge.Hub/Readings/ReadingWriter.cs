using System.Collections.Immutable;
using Grid.Edge.Hub.Ingest;
using Grid.Edge.Hub.Storage;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Readings;

/// <summary>
/// The one way readings get into the store: device readings from ingest, what the hub derives, and readings merged
/// from other hubs. Once readings are durable, every handler of <see cref="Stored"/> is told, with their origin; the
/// writers do not know who listens. Handlers run on the writer's thread and must not block (they queue work);
/// one that throws is logged and counted, and neither the write nor the other handlers are affected.
/// </summary>
internal sealed class ReadingWriter(ITimeSeriesStore store, DeviceQuotas quotas, ILogger<ReadingWriter>? logger = null)
{
    private ImmutableArray<Action<ReadingsStored>> _handlers = [];
    private long _handlerFailures;

    /// <summary>Raised after readings became durable. Nothing is built for it while no handler is attached.</summary>
    public event Action<ReadingsStored> Stored
    {
        add => ImmutableInterlocked.Update(ref _handlers, static (handlers, handler) => handlers.Add(handler), value ?? throw new ArgumentNullException(nameof(value)));
        remove => ImmutableInterlocked.Update(ref _handlers, static (handlers, handler) => handlers.Remove(handler), value);
    }

    /// <summary>Times a handler of <see cref="Stored"/> threw (the readings were stored all the same).</summary>
    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    /// <summary>Stores <paramref name="readings"/> and tells the handlers what was new or changed.</summary>
    /// <exception cref="StoreWriteException">The store could not write them; nothing is announced.</exception>
    public async ValueTask<AppendResult> AppendAsync(IReadOnlyList<Reading> readings, ReadingOrigin origin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (readings.Count == 0)
            return AppendResult.Empty;

        // Series the hub starts for a device (derived weather, bookkeeping) count against the device's cap.
        if (origin == ReadingOrigin.Derived)
            quotas.Note(readings);
        var result = await store.AppendAsync(readings, cancellationToken);
        if (result.Stored.Count > 0 && !_handlers.IsEmpty)
            Raise(new ReadingsStored(origin, result.Stored) { Corrections = CorrectionsOf(result) });
        return result;
    }

    /// <summary>Stores points given as columns per series and tells the handlers, per series, what was new or changed.</summary>
    /// <exception cref="StoreWriteException">The store could not write them; nothing is announced.</exception>
    public async ValueTask<ColumnsAppendResult> AppendColumnsAsync(IReadOnlyList<SeriesColumns> columns, ReadingOrigin origin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
            return ColumnsAppendResult.Empty;
        var result = await store.AppendColumnsAsync(columns, cancellationToken);
        if (result.Inserted + result.Updated > 0 && !_handlers.IsEmpty)
            Raise(new ReadingsStored(origin, result.Stored) { Corrections = result.Corrections });
        return result;
    }

    /// <summary>
    /// Stores readings another hub wrote, with their stamps (the greater stamp wins a point on every hub), and tells
    /// the handlers, as <see cref="ReadingOrigin.Remote"/>, which of them are now the stored values.
    /// </summary>
    /// <exception cref="StoreWriteException">The store could not write them; nothing is announced.</exception>
    public async ValueTask<AppendResult> MergeAsync(IReadOnlyList<StampedReading> readings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readings);
        if (readings.Count == 0)
            return AppendResult.Empty;
        var result = await store.MergeAsync(readings, cancellationToken);
        if (result.Stored.Count > 0 && !_handlers.IsEmpty)
            Raise(new ReadingsStored(ReadingOrigin.Remote, result.Stored));
        return result;
    }

    private static IReadOnlyList<ColumnCorrection> CorrectionsOf(AppendResult result) =>
        result.Corrections.Count == 0 ? [] : [.. result.Corrections.Select(c => new ColumnCorrection(result.Stored[c.Index].Series, result.Stored[c.Index].TimestampMs, c.Hlc))];

    private void Raise(ReadingsStored stored)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                handler(stored);
            }
            catch (Exception e)
            {
                if (Interlocked.Increment(ref _handlerFailures) <= 10)
                    logger?.LogError(e, "A consumer of stored readings failed ({Origin} readings); the readings are stored", stored.Origin);
            }
        }
    }
}
