using System.Numerics;

namespace Grid.Edge.Hub.Replication.Identity;

/// <summary>
/// Just enough of the Ed25519 curve (RFC 8032 section 5.1), in plain big-integer arithmetic, to judge an encoded
/// point: is it canonical, is it on the curve, what is its order. Speed does not matter here (a key is judged once,
/// when it enters the grid); being obviously right does, so it follows the RFC's formulas line by line.
/// </summary>
internal static class Edwards25519
{
    public static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;

    /// <summary>The order of the prime-order subgroup (the group has 8·L points).</summary>
    public static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);

    /// <summary>Extended homogeneous coordinates (X:Y:Z:T) with x = X/Z, y = Y/Z, x·y = T/Z.</summary>
    internal readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T)
    {
        public static readonly Point Identity = new(0, 1, 1, 0);

        public bool IsIdentity => X.IsZero && Mod(Y - Z).IsZero;
    }

    public enum Decoding
    {
        Valid,
        NonCanonicalY,
        NotOnCurve,
        NonCanonicalSign,
    }

    /// <summary>RFC 8032 5.1.3, refusing the encodings the RFC says to refuse and the negative zero it allows.</summary>
    public static Decoding Decode(ReadOnlySpan<byte> encoded, out Point point)
    {
        point = Point.Identity;
        Span<byte> copy = stackalloc byte[32];
        encoded[..32].CopyTo(copy);
        var sign = copy[31] >> 7;
        copy[31] &= 0x7F;
        var y = new BigInteger(copy, isUnsigned: true, isBigEndian: false);
        if (y >= P)
            return Decoding.NonCanonicalY;
        var y2 = Mod(y * y);
        var u = Mod(y2 - 1);
        var v = Mod(D * y2 + 1);
        var x = Mod(u * BigInteger.ModPow(v, 3, P) * BigInteger.ModPow(Mod(u * BigInteger.ModPow(v, 7, P)), (P - 5) / 8, P));
        var vx2 = Mod(v * x * x);
        if (vx2 == Mod(-u))
            x = Mod(x * SqrtMinusOne);
        else if (vx2 != u)
            return Decoding.NotOnCurve;
        if (x.IsZero && sign == 1)
            return Decoding.NonCanonicalSign;
        if ((int)(x % 2) != sign)
            x = P - x;
        point = new Point(x, y, 1, Mod(x * y));
        return Decoding.Valid;
    }

    /// <summary>RFC 8032 5.1.4 point addition (complete for Ed25519: no special cases).</summary>
    public static Point Add(Point p, Point q)
    {
        var a = Mod((p.Y - p.X) * (q.Y - q.X));
        var b = Mod((p.Y + p.X) * (q.Y + q.X));
        var c = Mod(2 * p.T * q.T * D);
        var d = Mod(2 * p.Z * q.Z);
        var e = b - a;
        var f = d - c;
        var g = d + c;
        var h = b + a;
        return new Point(Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h));
    }

    public static Point Multiply(BigInteger scalar, Point point)
    {
        var result = Point.Identity;
        var addend = point;
        while (!scalar.IsZero)
        {
            if (!scalar.IsEven)
                result = Add(result, addend);
            addend = Add(addend, addend);
            scalar >>= 1;
        }

        return result;
    }

    /// <summary>RFC 8032 5.1.2: y little-endian with the sign (low bit) of x in the top bit.</summary>
    public static byte[] Encode(Point point)
    {
        var zInverse = Inverse(point.Z);
        var x = Mod(point.X * zInverse);
        var y = Mod(point.Y * zInverse);
        var bytes = new byte[32];
        y.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
        bytes[31] |= (byte)((int)(x % 2) << 7);
        return bytes;
    }

    public static bool HasSmallOrder(Point point) => Multiply(8, point).IsIdentity;

    public static bool IsInPrimeOrderSubgroup(Point point) => Multiply(L, point).IsIdentity;

    /// <summary>
    /// The y coordinates (below 2^255, so including the non-canonical y + p forms) of the eight points of small
    /// order: the identity (0, 1), (0, -1) of order 2, (±sqrt(-1), 0) of order 4, and the four of order 8 whose
    /// double has y = 0, found from the curve equation: -x² + y² = 1 + d·x²·y² with x² = -y² gives
    /// d·y⁴ + 2·y² - 1 = 0.
    /// </summary>
    public static IReadOnlyList<BigInteger> SmallOrderYs()
    {
        var ys = new List<BigInteger> { 0, 1, P - 1 };
        var root = SquareRoot(Mod(1 + D));
        foreach (var y2 in new[] { Mod((-1 + root) * Inverse(D)), Mod((-1 - root) * Inverse(D)) })
        {
            var y = SquareRoot(y2);
            if (Mod(y * y) != y2)
                continue;
            ys.Add(y);
            ys.Add(P - y);
        }

        foreach (var y in ys.ToArray())
        {
            if (y + P < BigInteger.Pow(2, 255))
                ys.Add(y + P);
        }

        return ys;
    }

    public static BigInteger Mod(BigInteger value)
    {
        var r = value % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger value) => BigInteger.ModPow(Mod(value), P - 2, P);

    /// <summary>A square root mod p (p ≡ 5 mod 8, Atkin's method as in RFC 8032); garbage when there is none.</summary>
    private static BigInteger SquareRoot(BigInteger a)
    {
        var x = BigInteger.ModPow(a, (P + 3) / 8, P);
        return Mod(x * x) == Mod(a) ? x : Mod(x * SqrtMinusOne);
    }
}
