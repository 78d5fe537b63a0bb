using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Membership;

internal enum MembershipKind : byte
{
    /// <summary>Signed by the grid root key: the grid's name and its first member.</summary>
    Create = 1,
    Add = 2,
    Remove = 3,
}

/// <summary>
/// One signed record of a grid's control log. Records name the records their author had seen (deps), so the log
/// is a DAG whose order says which changes knew of which: that is what lets "a removal wins over a concurrent add"
/// be decided the same way on every hub. Layout: <c>GEM1</c>, kind (1), grid id (16, zero in Create: the grid id
/// is the hash of the Create record), author key (32), issued at (Unix ms, 8), dep count (varint, at most 64) and
/// dep ids (32 each, strictly increasing; none in Create, at least one otherwise), then by kind: Create: name
/// (length byte + UTF-8, 1-64 bytes) and the first member's certificate; Add: the certificate; Remove: the hub id
/// (16). Then the author's signature (64) over a domain string and all of the above. Its id is SHA-256 of the
/// unsigned bytes.
/// </summary>
internal sealed class MembershipRecord
{
    public const int MaxDeps = 64;
    private static ReadOnlySpan<byte> Magic => "GEM1"u8;
    private static ReadOnlySpan<byte> SignatureDomain => "grid-edge/member/v1\0"u8;

    private MembershipRecord(MembershipKind kind, Id128 grid, byte[] author, long issuedAtMs, IReadOnlyList<Hash256> deps, string? name, MemberCertificate? certificate, Id128 removed, byte[] unsigned, byte[] signature)
    {
        Kind = kind;
        Grid = grid;
        Author = author;
        IssuedAtMs = issuedAtMs;
        Deps = deps;
        Name = name;
        Certificate = certificate;
        Removed = removed;
        Unsigned = unsigned;
        Signature = signature;
        Id = Hash256.Of(unsigned);
        AuthorHubId = HubKeys.HubIdOf(author);
    }

    public MembershipKind Kind { get; }

    public Id128 Grid { get; }

    public byte[] Author { get; }

    public Id128 AuthorHubId { get; }

    public long IssuedAtMs { get; }

    public IReadOnlyList<Hash256> Deps { get; }

    public string? Name { get; }

    /// <summary>The member added (Add) or the first member (Create).</summary>
    public MemberCertificate? Certificate { get; }

    public Id128 Removed { get; }

    public byte[] Unsigned { get; }

    public byte[] Signature { get; }

    public Hash256 Id { get; }

    /// <summary>The id of the grid a Create record founds.</summary>
    public Id128 FoundedGrid => Id128.Read(Id.ToBytes());

    public static MembershipRecord CreateGrid(HubKeys root, string name, MemberCertificate first, long issuedAtMs) =>
        Sign(MembershipKind.Create, default, root, issuedAtMs, [], name, first, default);

    public static MembershipRecord AddMember(HubKeys author, Id128 grid, IEnumerable<Hash256> deps, MemberCertificate certificate, long issuedAtMs) =>
        Sign(MembershipKind.Add, grid, author, issuedAtMs, deps, null, certificate, default);

    public static MembershipRecord RemoveMember(HubKeys author, Id128 grid, IEnumerable<Hash256> deps, Id128 hub, long issuedAtMs) =>
        Sign(MembershipKind.Remove, grid, author, issuedAtMs, deps, null, null, hub);

    public byte[] Encode() => [.. Unsigned, .. Signature];

    private static MembershipRecord Sign(MembershipKind kind, Id128 grid, HubKeys author, long issuedAtMs, IEnumerable<Hash256> deps, string? name, MemberCertificate? certificate, Id128 removed)
    {
        ArgumentNullException.ThrowIfNull(author);
        var sorted = deps.Distinct().Order().ToList();
        var w = new WireWriter();
        w.Bytes(Magic);
        w.U8((byte)kind);
        w.Id(grid);
        w.Bytes(author.PublicKey.Span);
        w.I64(issuedAtMs);
        w.Varint((ulong)sorted.Count);
        foreach (var dep in sorted)
            w.Hash(dep);
        if (name is not null)
            w.ShortString(name);
        certificate?.Write(w);
        if (kind == MembershipKind.Remove)
            w.Id(removed);
        var unsigned = w.ToArray();
        var record = TryDecode([.. unsigned, .. author.Sign([.. SignatureDomain, .. unsigned])], out var error);
        return record ?? throw new ArgumentException($"this record would be refused: {error}");
    }

    /// <summary>Parses and checks a record, including its signature; never throws on bad input.</summary>
    public static MembershipRecord? TryDecode(ReadOnlySpan<byte> data, out string? error)
    {
        var reader = new WireReader(data);
        MembershipRecord? record = null;
        if (!reader.Bytes(4, "magic", out var magic) || !magic.SequenceEqual(Magic))
            reader.Fail("not a membership record (magic is not 'GEM1')");
        else if (reader.U8("kind", out var kindByte) && reader.Id("grid id", out var grid) && reader.Bytes(32, "author key", out var author)
            && reader.I64("issued at", out var issuedAt) && reader.Varint("dep count", out var depCount))
        {
            var kind = (MembershipKind)kindByte;
            var deps = new List<Hash256>();
            if (!Enum.IsDefined(kind))
                reader.Fail($"record kind {kindByte} is not create (1), add (2) or remove (3)");
            else if (depCount > MaxDeps)
                reader.Fail($"{depCount} deps, at most {MaxDeps}");
            else if ((kind == MembershipKind.Create) != (depCount == 0))
                reader.Fail(kind == MembershipKind.Create ? "a create record has no deps" : "an add or remove record names at least one dep");
            else if ((kind == MembershipKind.Create) != (grid == default))
                reader.Fail(kind == MembershipKind.Create ? "a create record names no grid (its hash is the grid id)" : "the grid id is zero");
            for (var i = 0UL; reader.Error is null && i < depCount; i++)
            {
                if (reader.Hash("dep", out var dep) && deps.Count > 0 && dep.CompareTo(deps[^1]) <= 0)
                    reader.Fail("deps are not in strictly increasing order");
                deps.Add(dep);
            }

            string? name = null;
            MemberCertificate? certificate = null;
            Id128 removed = default;
            if (reader.Error is null)
            {
                if (kind == MembershipKind.Create && reader.ShortString("grid name", 64, out var n))
                {
                    name = n;
                    if (name.Length == 0)
                        reader.Fail("the grid name is empty");
                }

                if (kind is MembershipKind.Create or MembershipKind.Add && reader.Error is null)
                    certificate = MemberCertificate.TryRead(ref reader);
                if (kind == MembershipKind.Remove)
                    reader.Id("removed hub", out removed);
            }

            var unsignedLength = reader.Position;
            if (reader.Bytes(StrictEd25519.SignatureSize, "signature", out var signature) && reader.End("signature"))
            {
                if (!StrictEd25519.TryImport(author, out var key, out var keyError))
                    reader.Fail($"author key refused: {keyError}");
                else if (!StrictEd25519.Verify(key!, [.. SignatureDomain, .. data[..unsignedLength]], signature, out var signatureError))
                    reader.Fail(signatureError!);
                else
                    record = new MembershipRecord(kind, grid, author.ToArray(), issuedAt, deps, name, certificate, removed, data[..unsignedLength].ToArray(), signature.ToArray());
            }
        }

        error = reader.Error;
        return error is null ? record : null;
    }
}
