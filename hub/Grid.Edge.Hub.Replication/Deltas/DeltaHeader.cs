using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Hub.Storage.Versions;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>Each resolution tier of a series is its own stream, so a share selects whole deltas and nobody re-signs.</summary>
internal enum ResolutionTier : byte
{
    Raw = 0,
    Minute = 1,
    Hour = 2,

    /// <summary>
    /// Raw points of several series of one device, as one gathering of live writes found them (<see cref="DeviceBody"/>):
    /// a weather station's ten readings of a minute are one delta, not ten. The series is <c>&lt;device&gt;/*</c>.
    /// </summary>
    Device = 3,
}

/// <summary>
/// The signed part of a delta, in its one canonical binary form (layout in the README, <see cref="Write"/> and
/// <see cref="TryRead"/> side by side). The body is bound through its length and hash, so the header alone proves
/// what the origin said (a fork proof carries two headers and no bodies).
/// </summary>
internal sealed record DeltaHeader(
    Id128 Grid,
    Id128 Stream,
    Id128 Origin,
    string Series,
    ResolutionTier Tier,
    ulong Seq,
    Hash256 Previous,
    long Hlc,
    long T0,
    long T1,
    Id128 KeyId,
    uint BodyLength,
    Hash256 BodyHash)
{
    public static ReadOnlySpan<byte> Magic => "GED1"u8;

    /// <summary>magic, grid, stream, origin, tier, seq, previous, hlc, t0, t1, key id, body length, body hash, series length.</summary>
    public const int FixedSize = 4 + 16 + 16 + 16 + 1 + 8 + 32 + 8 + 8 + 8 + 16 + 4 + 32 + 1;

    /// <summary>A chunk part holds at most 36,000 points (~10 B each): a body beyond this is not a chunk.</summary>
    public const uint MaxBodyLength = 1 << 20;

    /// <summary>Largest data window: an hour chunk, a day of minute rollups, a month of hour rollups all fit.</summary>
    public const long MaxWindowMs = 40L * 24 * 3600 * 1000;

    /// <summary>Unix milliseconds a hybrid clock value can hold (48 bits minus the sign: until the year 6429).</summary>
    public const long MaxTimeMs = (1L << (63 - WriteStamp.CounterBits)) - 1;

    private const int MaxSeriesBytes = 129;

    public static Id128 StreamIdOf(string series, ResolutionTier tier) =>
        Id128.Hash("grid-edge/stream/v1\0", System.Text.Encoding.UTF8.GetBytes($"{series}\0{(byte)tier}"));

    public byte[] Write()
    {
        var w = new WireWriter();
        w.Bytes(Magic);
        w.Id(Grid);
        w.Id(Stream);
        w.Id(Origin);
        w.U8((byte)Tier);
        w.U64(Seq);
        w.Hash(Previous);
        w.I64(Hlc);
        w.I64(T0);
        w.I64(T1);
        w.Id(KeyId);
        w.U32(BodyLength);
        w.Hash(BodyHash);
        w.ShortString(Series);
        return w.ToArray();
    }

    /// <summary>Reads one header from the start of <paramref name="reader"/> and checks every field's range.</summary>
    public static DeltaHeader? TryRead(ref WireReader reader)
    {
        if (!reader.Bytes(4, "magic", out var magic))
            return null;
        if (!magic.SequenceEqual(Magic))
        {
            reader.Fail("not a delta (magic is not 'GED1')");
            return null;
        }

        if (!reader.Id("grid id", out var grid) || !reader.Id("stream id", out var stream) || !reader.Id("origin", out var origin)
            || !reader.U8("tier", out var tier) || !reader.U64("seq", out var seq) || !reader.Hash("previous", out var previous)
            || !reader.I64("hlc", out var hlc) || !reader.I64("t0", out var t0) || !reader.I64("t1", out var t1)
            || !reader.Id("key id", out var keyId) || !reader.U32("body length", out var bodyLength) || !reader.Hash("body hash", out var bodyHash)
            || !reader.ShortString("series", MaxSeriesBytes, out var series))
            return null;

        var header = new DeltaHeader(grid, stream, origin, series, (ResolutionTier)tier, seq, previous, hlc, t0, t1, keyId, bodyLength, bodyHash);
        var error = header.Validate();
        if (error is null)
            return header;
        reader.Fail(error);
        return null;
    }

    /// <summary>Why these fields cannot form a delta, or null.</summary>
    public string? Validate()
    {
        if (!Enum.IsDefined(Tier))
            return $"tier {(byte)Tier} is not a resolution tier";
        if (Tier == ResolutionTier.Device ? DeviceBody.DeviceOf(Series) is null : !SeriesKey.TryParse(Series, out _))
        {
            return Tier == ResolutionTier.Device
                ? "a device delta's series is not '<device>/*' with 1-64 characters of A-Z a-z 0-9 _ . - in the device"
                : "the series is not '<device>/<metric>' with 1-64 characters of A-Z a-z 0-9 _ . - each";
        }
        if (Stream != StreamIdOf(Series, Tier))
            return "the stream id is not the one of its series and tier";
        if (Seq == 0 || Seq > long.MaxValue)
            return $"seq {Seq} is outside 1..2^63-1";
        if ((Seq == 1) != Previous.IsZero)
            return Seq == 1 ? "the first delta of a stream names a previous delta" : $"delta {Seq} does not name its previous delta";
        if (Hlc <= 0 || (Hlc >> WriteStamp.CounterBits) > MaxTimeMs)
            return $"hlc {Hlc} is not a positive clock value";
        if (T0 < 0 || T1 > MaxTimeMs || T0 >= T1)
            return $"the data window [{T0}, {T1}) is empty or outside 0..{MaxTimeMs} ms";
        if (T1 - T0 > MaxWindowMs)
            return $"the data window spans {T1 - T0} ms, more than {MaxWindowMs}";
        if (BodyLength > MaxBodyLength)
            return $"the body length {BodyLength} exceeds {MaxBodyLength} bytes";
        return null;
    }
}
