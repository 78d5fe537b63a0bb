using CsCheck;
using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Deltas;

public class SignedDeltaTests
{
    private static readonly Gen<string> Series =
        Gen.Select(Gen.Char["a-zA-Z0-9_.-"].Array[1, 64], Gen.Char["a-z0-9"].Array[1, 64]).Select((d, m) => new string(d) + "/" + new string(m));

    private static readonly Gen<SignedDelta> Deltas =
        Gen.Select(Gen.Int[0, 4], Series, Gen.Enum<ResolutionTier>(), Gen.Int[1, 3], Gen.Long[0, 1L << 46], Gen.Long[1, 3_600_000], Gen.Byte.Array[0, 300])
            .Select((hub, series, tier, count, t0, span, body) =>
            {
                // A device's stream is named by the device alone.
                var author = new StreamAuthor(TestGrid.Grid, tier == ResolutionTier.Device ? DeviceBody.SeriesOf(series[..series.IndexOf('/', StringComparison.Ordinal)]) : series, tier, TestGrid.Hubs[hub]);
                SignedDelta last = null!;
                for (var i = 0; i < count; i++)
                    last = author.Next(TestGrid.Hlc(t0 + span) + i, t0, t0 + span, body);
                return last;
            });

    [Fact]
    public void Any_delta_round_trips_bit_for_bit_and_verifies()
    {
        Deltas.Sample(delta =>
        {
            var bytes = delta.Encode();
            var decoded = TestGrid.Verifier.TryAccept(bytes, out var refusal);
            Assert.True(decoded is not null, refusal?.ToString());
            Assert.Equal(bytes, decoded.Encode());
            Assert.Equal(delta.Header, decoded.Header);
            Assert.Equal(delta.Id, decoded.Id);
            Assert.Equal(delta.Body, decoded.Body);
            Assert.Equal(DeltaHeader.FixedSize + System.Text.Encoding.UTF8.GetByteCount(delta.Header.Series), delta.HeaderBytes.Length);
        }, iter: 300);
    }

    [Fact]
    public void Any_single_bit_flip_anywhere_in_a_signed_delta_is_refused_with_a_reason()
    {
        Gen.Select(Deltas, Gen.Int[0, int.MaxValue], Gen.Int[0, 7]).Sample((delta, at, bit) =>
        {
            var bytes = delta.Encode();
            bytes[at % bytes.Length] ^= (byte)(1 << bit);
            Assert.Null(TestGrid.Verifier.TryAccept(bytes, out var refusal));
            Assert.False(string.IsNullOrWhiteSpace(refusal!.Detail));
        }, iter: 2_000);
    }

    [Fact]
    public void Every_byte_of_one_delta_is_covered_cut_short_or_extended_it_is_refused()
    {
        var delta = TestGrid.Chain(0, "weather1/temperature", 2)[1];
        var bytes = delta.Encode();
        for (var i = 0; i < bytes.Length; i++)
        {
            var mutated = (byte[])bytes.Clone();
            mutated[i] ^= 0x01;
            Assert.Null(TestGrid.Verifier.TryAccept(mutated, out var refusal));
            Assert.NotNull(refusal);
        }

        for (var length = 0; length < bytes.Length; length++)
            Assert.Equal(DeltaRefusalReason.Malformed, Refuse(bytes[..length]).Reason);
        Assert.Contains("1 bytes follow the body", Refuse([.. bytes, 0]).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_throw_only_refuse()
    {
        var magic = DeltaHeader.Magic.ToArray();
        Gen.OneOf(Gen.Byte.Array[0, 400], Gen.Byte.Array[0, 400].Select(b => magic.Concat(b).ToArray()))
            .Sample(bytes => Assert.Null(TestGrid.Verifier.TryAccept(bytes, out _)), iter: 20_000);
    }

    [Fact]
    public void A_delta_is_refused_by_another_grid_an_unknown_key_another_origin_and_outside_its_writable_series()
    {
        var delta = TestGrid.Chain(0, "weather1/temperature", 1)[0];
        var otherGrid = new DeltaVerifier(Id128.Hash("other", [2]), _ => null);
        Assert.Equal(DeltaRefusalReason.OtherGrid, otherGrid.Verify(delta)!.Reason);
        var noKeys = new DeltaVerifier(TestGrid.Grid, _ => null);
        Assert.Equal(DeltaRefusalReason.UnknownKey, noKeys.Verify(delta)!.Reason);
        var wrongOwner = new DeltaVerifier(TestGrid.Grid, _ => new SignerGrant(TestGrid.Hubs[1].Verifying, [""]));
        Assert.Equal(DeltaRefusalReason.KeyNotOrigin, wrongOwner.Verify(delta)!.Reason);
        var signedByOther = new DeltaVerifier(TestGrid.Grid, _ => new SignerGrant(TestGrid.Hubs[0].Verifying, ["van5/"]));
        Assert.Equal(DeltaRefusalReason.SeriesNotWritable, signedByOther.Verify(delta)!.Reason);
        Assert.Null(TestGrid.Verifier.Verify(delta));

        var van = TestGrid.Chain(5, "van5/speed", 1)[0];
        Assert.Null(TestGrid.Verifier.Verify(van));
        var outside = TestGrid.Chain(5, "home/temperature", 1)[0];
        Assert.Equal(DeltaRefusalReason.SeriesNotWritable, TestGrid.Verifier.Verify(outside)!.Reason);
    }

    [Fact]
    public void A_header_re_signed_by_another_member_is_refused()
    {
        var delta = TestGrid.Chain(0, "weather1/temperature", 1)[0];
        var bytes = delta.Encode();
        var forged = TestGrid.Hubs[1].Sign(SignedDelta.SignedMessage(delta.HeaderBytes));
        forged.CopyTo(bytes, delta.HeaderBytes.Length);
        var refusal = Refuse(bytes);
        Assert.Equal(DeltaRefusalReason.BadSignature, refusal.Reason);
    }

    [Theory]
    [InlineData("seq", "seq 0 is outside")]
    [InlineData("first-with-previous", "names a previous delta")]
    [InlineData("later-without-previous", "does not name its previous delta")]
    [InlineData("empty-window", "is empty or outside")]
    [InlineData("wide-window", "more than")]
    [InlineData("hlc", "is not a positive clock value")]
    [InlineData("stream", "the stream id is not the one")]
    [InlineData("series", "the series is not")]
    [InlineData("tier", "tier 9 is not")]
    [InlineData("body-length", "exceeds")]
    public void Each_field_out_of_range_is_refused_with_its_reason(string field, string reason)
    {
        var h = TestGrid.Chain(0, "weather1/temperature", 2)[1].Header;
        var bad = field switch
        {
            "seq" => h with { Seq = 0 },
            "first-with-previous" => h with { Seq = 1 },
            "later-without-previous" => h with { Previous = Hash256.Zero },
            "empty-window" => h with { T1 = h.T0 },
            "wide-window" => h with { T1 = h.T0 + DeltaHeader.MaxWindowMs + 1 },
            "hlc" => h with { Hlc = 0 },
            "stream" => h with { Stream = DeltaHeader.StreamIdOf(h.Series, ResolutionTier.Hour) },
            "series" => h with { Series = "no-slash", Stream = DeltaHeader.StreamIdOf("no-slash", h.Tier) },
            "tier" => h with { Tier = (ResolutionTier)9 },
            _ => h with { BodyLength = DeltaHeader.MaxBodyLength + 1 },
        };
        Assert.Contains(reason, bad.Validate(), StringComparison.Ordinal);
        var bytes = bad.Write().Concat(new byte[64]).ToArray();
        var decoded = SignedDelta.TryDecode(bytes, out var error);
        Assert.Null(decoded);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private static DeltaRefusal Refuse(byte[] bytes)
    {
        Assert.Null(TestGrid.Verifier.TryAccept(bytes, out var refusal));
        return refusal!;
    }
}
