using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Storage.Changes;

/// <summary>A bucket of a series whose stored points changed, with the number of its last change.</summary>
/// <param name="BucketStart">The bucket's start (Unix ms); the bucket spans the store's bucket duration.</param>
/// <param name="Change">Grows with every change the store writes; a bucket changed again gets a higher one.</param>
public readonly record struct BucketChange(SeriesKey Series, long BucketStart, long Change);

/// <summary>Changes after a cursor, oldest first.</summary>
/// <param name="Cursor">Where the next read starts: the last change given, or the cursor asked for when there was none.</param>
/// <param name="More">Whether more changes follow the last one given (the page was full).</param>
public sealed record BucketChangePage(IReadOnlyList<BucketChange> Changes, long Cursor, bool More);

/// <summary>The resolutions the store keeps each bucket in.</summary>
public enum StoreTier
{
    /// <summary>Every point as written.</summary>
    Raw,

    /// <summary>Per minute: count, sum, min, max, first and last.</summary>
    Minute,

    /// <summary>Per hour: count, sum, min, max, first and last.</summary>
    Hour,
}

/// <summary>One bucket of one series as the store holds it, each point with the stamp of the write that won it.</summary>
/// <param name="Change">The bucket's change number when it was last written to the chunk store (0 when never); points still only in memory may be newer.</param>
public sealed record StampedBucket(SeriesKey Series, string Unit, long BucketStart, long[] Times, double[] Values, WriteStamp[] Stamps, long Change);
