namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>Why a delta (or a fork proof) was not taken; counted per reason by the hub.</summary>
internal enum DeltaRefusalReason
{
    Malformed,
    OtherGrid,
    UnknownKey,
    KeyNotOrigin,
    SeriesNotWritable,
    BadSignature,
    StreamForked,
}

internal sealed record DeltaRefusal(DeltaRefusalReason Reason, string Detail)
{
    public override string ToString() => $"{Reason}: {Detail}";
}
