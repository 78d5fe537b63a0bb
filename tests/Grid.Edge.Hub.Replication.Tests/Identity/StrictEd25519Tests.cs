using System.Numerics;
using Grid.Edge.Hub.Replication.Identity;
using NSec.Cryptography;

namespace Grid.Edge.Hub.Replication.Tests.Identity;

public class StrictEd25519Tests
{
    internal sealed record Vector(string Name, byte[] PublicKey, byte[] Message, byte[] Signature, bool Accept);

    internal static IReadOnlyList<Vector> Vectors()
    {
        var vectors = new List<Vector>();
        foreach (var line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "ed25519-strict.txt")))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var f = line.Split(';');
            byte[] signature;
            if (f[3].EndsWith("S+L", StringComparison.Ordinal))
            {
                // TEST 1's S with L added: the same point equation holds, the encoding is not canonical.
                var test1 = Convert.FromHexString(vectors.Single(v => v.Name == "rfc8032-test1").Signature.AsSpan().ToArray() is var s ? Convert.ToHexString(s) : "");
                var sPlusL = new BigInteger(test1.AsSpan(32), isUnsigned: true) + Edwards25519.L;
                signature = new byte[64];
                test1.AsSpan(0, 32).CopyTo(signature);
                sPlusL.TryWriteBytes(signature.AsSpan(32), out _, isUnsigned: true);
            }
            else
                signature = Convert.FromHexString(f[3]);
            vectors.Add(new Vector(f[0], Convert.FromHexString(f[1]), f[2] == "-" ? [] : Convert.FromHexString(f[2]), signature, f[4] == "accept"));
        }

        return vectors;
    }

    private static bool StrictVerify(Vector v) =>
        StrictEd25519.TryImport(v.PublicKey, out var key, out _) && StrictEd25519.Verify(key!, v.Message, v.Signature, out _);

    [Fact]
    public void Every_vector_is_accepted_or_refused_as_written_in_the_test_data()
    {
        var vectors = Vectors();
        Assert.True(vectors.Count >= 18);
        foreach (var v in vectors)
            Assert.True(StrictVerify(v) == v.Accept, $"{v.Name}: expected {(v.Accept ? "accept" : "reject")}");
    }

    [Fact]
    public void The_rfc_8032_seeds_sign_exactly_the_rfc_signatures()
    {
        var seeds = new Dictionary<string, string>
        {
            ["rfc8032-test1"] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            ["rfc8032-test2"] = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            ["rfc8032-test3"] = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        };
        foreach (var v in Vectors().Where(v => seeds.ContainsKey(v.Name)))
        {
            using var keys = HubKeys.FromSeed(Convert.FromHexString(seeds[v.Name]));
            Assert.Equal(v.PublicKey, keys.PublicKey.ToArray());
            Assert.Equal(v.Signature, keys.Sign(v.Message));
        }
    }

    [Fact]
    public void Non_canonical_s_is_refused_before_libsodium_and_libsodium_refuses_it_too()
    {
        var v = Vectors().Single(v => v.Name == "test1-s-plus-l");
        Assert.Contains("not below the group order", StrictEd25519.CheckSignatureForm(v.Signature), StringComparison.Ordinal);
        var nsecKey = PublicKey.Import(SignatureAlgorithm.Ed25519, v.PublicKey, KeyBlobFormat.RawPublicKey);
        Assert.False(SignatureAlgorithm.Ed25519.Verify(nsecKey, v.Message, v.Signature));
    }

    [Fact]
    public void The_small_order_points_we_derive_are_exactly_libsodiums_list()
    {
        var listed = Vectors().Where(v => v.Name.StartsWith("small-order-", StringComparison.Ordinal))
            .Select(v => { var y = (byte[])v.PublicKey.Clone(); y[31] &= 0x7F; return Convert.ToHexString(y); })
            .ToHashSet();
        var derived = Edwards25519.SmallOrderYs()
            .Select(y => { var b = new byte[32]; y.TryWriteBytes(b, out _, isUnsigned: true); return Convert.ToHexString(b); })
            .ToHashSet();
        Assert.Equal(7, derived.Count);
        Assert.Equal(listed, derived);
        foreach (var y in Edwards25519.SmallOrderYs().Where(y => y < Edwards25519.P))
        {
            var encoded = new byte[32];
            y.TryWriteBytes(encoded, out _, isUnsigned: true);
            Assert.Equal(Edwards25519.Decoding.Valid, Edwards25519.Decode(encoded, out var point));
            Assert.True(Edwards25519.HasSmallOrder(point));
        }
    }

    [Fact]
    public void A_key_with_a_small_order_component_is_refused_though_it_is_a_valid_point()
    {
        using var keys = HubKeys.Create();
        Assert.Null(StrictEd25519.CheckPublicKey(keys.PublicKey.Span));
        Assert.Equal(Edwards25519.Decoding.Valid, Edwards25519.Decode(keys.PublicKey.Span, out var a));
        var order8Y = Edwards25519.SmallOrderYs().First(y => y > 1 && y < Edwards25519.P - 1);
        var encoded = new byte[32];
        order8Y.TryWriteBytes(encoded, out _, isUnsigned: true);
        Edwards25519.Decode(encoded, out var torsion);
        var mixed = Edwards25519.Encode(Edwards25519.Add(a, torsion));
        Assert.Equal(Edwards25519.Decoding.Valid, Edwards25519.Decode(mixed, out _));
        Assert.Equal("the public key has a small-order component (not in the prime-order subgroup)", StrictEd25519.CheckPublicKey(mixed));
        Assert.Equal(keys.PublicKey.ToArray(), Edwards25519.Encode(a));
    }

    [Fact]
    public void Fresh_keys_verify_their_signatures_and_any_flipped_bit_is_refused()
    {
        var random = new Random(7);
        for (var i = 0; i < 20; i++)
        {
            using var keys = HubKeys.Create();
            var message = new byte[random.Next(0, 200)];
            random.NextBytes(message);
            var signature = keys.Sign(message);
            Assert.True(StrictEd25519.Verify(keys.Verifying, message, signature, out var error), error);
            var bit = random.Next(64 * 8);
            signature[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(StrictEd25519.Verify(keys.Verifying, message, signature, out error));
            Assert.NotNull(error);
            Assert.False(StrictEd25519.Verify(keys.Verifying, message, signature.AsSpan(0, 63), out error));
            Assert.Contains("64 bytes", error, StringComparison.Ordinal);
        }
    }
}
