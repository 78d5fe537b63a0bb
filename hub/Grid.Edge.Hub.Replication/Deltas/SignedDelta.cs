using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Deltas;

/// <summary>
/// An immutable delta as it travels: header, the origin's Ed25519 signature over the header, and the body (the
/// engine's chunk encoding). Its id is the SHA-256 of the header, which covers the body through the body hash, so
/// any relay or data mule can forward it and any receiver can check it against the origin's key alone.
/// </summary>
internal sealed class SignedDelta
{
    private static ReadOnlySpan<byte> SignatureDomain => "grid-edge/delta/v1\0"u8;

    private SignedDelta(DeltaHeader header, byte[] headerBytes, byte[] signature, byte[] body)
    {
        Header = header;
        HeaderBytes = headerBytes;
        Signature = signature;
        Body = body;
        Id = Hash256.Of(headerBytes);
    }

    public DeltaHeader Header { get; }

    public byte[] HeaderBytes { get; }

    public byte[] Signature { get; }

    public byte[] Body { get; }

    public Hash256 Id { get; }

    public int EncodedLength => HeaderBytes.Length + Signature.Length + Body.Length;

    /// <summary>Signs a header for a body; the caller (the stream's author) has chosen seq, previous and clock.</summary>
    public static SignedDelta Sign(DeltaHeader header, byte[] body, HubKeys keys)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(keys);
        if (header.Origin != keys.HubId || header.KeyId != keys.KeyId)
            throw new ArgumentException("the header names another origin or key than the signing hub's", nameof(header));
        if (header.BodyLength != body.Length || header.BodyHash != Hash256.Of(body))
            throw new ArgumentException("the header's body length or hash does not match the body", nameof(header));
        var error = header.Validate();
        if (error is not null)
            throw new ArgumentException(error, nameof(header));
        var bytes = header.Write();
        return new SignedDelta(header, bytes, keys.Sign(SignedMessage(bytes)), body);
    }

    public static byte[] SignedMessage(ReadOnlySpan<byte> headerBytes) => [.. SignatureDomain, .. headerBytes];

    public byte[] Encode() => [.. HeaderBytes, .. Signature, .. Body];

    /// <summary>
    /// Parses the structure of an encoded delta (header fields in range, signature present, body of the stated
    /// length and hash). Signature and membership are checked by <see cref="DeltaVerifier"/>.
    /// </summary>
    public static SignedDelta? TryDecode(ReadOnlySpan<byte> data, out string? error)
    {
        var reader = new WireReader(data);
        var header = DeltaHeader.TryRead(ref reader);
        var headerLength = reader.Position;
        if (header is null || !reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature)
            || !reader.Bytes((int)header.BodyLength, "body", out var body) || !reader.End("body"))
        {
            error = reader.Error;
            return null;
        }

        if (Hash256.Of(body) != header.BodyHash)
        {
            error = "the body does not match the body hash in the header";
            return null;
        }

        error = null;
        return new SignedDelta(header, data[..headerLength].ToArray(), signature.ToArray(), body.ToArray());
    }

    /// <summary>
    /// A delta put back together from its fields (a <see cref="CompactDelta"/>): the header in its canonical form, the
    /// signature as sent, unchecked (the receiver verifies it as any other), and a body matching the header.
    /// </summary>
    public static SignedDelta Assemble(DeltaHeader header, ReadOnlySpan<byte> signature, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(body);
        if (signature.Length != StrictEd25519.SignatureSize || header.BodyLength != body.Length || header.BodyHash != Hash256.Of(body))
            throw new ArgumentException("the signature's size, or the body's length or hash, does not match the header");
        return new SignedDelta(header, header.Write(), signature.ToArray(), body);
    }

    /// <summary>A header and signature without a body, as carried in a fork proof.</summary>
    public static SignedDelta? TryDecodeSignedHeader(ReadOnlySpan<byte> data, out string? error)
    {
        var reader = new WireReader(data);
        var header = DeltaHeader.TryRead(ref reader);
        var headerLength = reader.Position;
        if (header is null || !reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature) || !reader.End("signature"))
        {
            error = reader.Error;
            return null;
        }

        error = null;
        return new SignedDelta(header, data[..headerLength].ToArray(), signature.ToArray(), []);
    }

    public byte[] EncodeSignedHeader() => [.. HeaderBytes, .. Signature];

    public override string ToString() => $"{Header.Origin}/{Header.Series}#{Header.Seq} {Id}";
}
