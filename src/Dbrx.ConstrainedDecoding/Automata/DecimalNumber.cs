using System.Globalization;
using System.Numerics;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// An exact decimal value (a JSON number from a schema, such as a bound or a <c>multipleOf</c>), kept as its digits
/// so that any length and exponent is exact: <see cref="Integer"/> and <see cref="Fraction"/> are the digits of the
/// magnitude without leading (integer) or trailing (fraction) zeros, so zero is two empty strings.
/// </summary>
internal sealed record DecimalNumber(bool Negative, string Integer, string Fraction)
{
    public static DecimalNumber Zero { get; } = new(false, "", "");

    public bool IsZero => Integer.Length == 0 && Fraction.Length == 0;

    /// <summary>Reads JSON number text (<c>-12.5e3</c>).</summary>
    public static DecimalNumber Parse(string text)
    {
        int e = text.IndexOfAny(['e', 'E']);
        int exponent = e < 0 ? 0 : int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        string mantissa = e < 0 ? text : text[..e];
        bool negative = mantissa.StartsWith('-');
        mantissa = mantissa.TrimStart('-', '+');
        int point = mantissa.IndexOf('.');
        string digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        int pointAt = (point < 0 ? mantissa.Length : point) + exponent;
        if (pointAt < 0)
        {
            digits = new string('0', -pointAt) + digits;
            pointAt = 0;
        }
        if (pointAt > digits.Length)
            digits += new string('0', pointAt - digits.Length);
        string integer = digits[..pointAt].TrimStart('0'), fraction = digits[pointAt..].TrimEnd('0');
        return integer.Length == 0 && fraction.Length == 0 ? Zero : new DecimalNumber(negative, integer, fraction);
    }

    /// <summary>The value times 10^<see cref="Fraction"/>.Length, an integer.</summary>
    public BigInteger ScaledMagnitude => BigInteger.Parse("0" + Integer + Fraction, CultureInfo.InvariantCulture);

    public int Sign => IsZero ? 0 : Negative ? -1 : 1;

    public int CompareTo(DecimalNumber other)
    {
        if (Sign != other.Sign)
            return Sign.CompareTo(other.Sign);
        int magnitude = CompareMagnitudes(this, other);
        return Sign < 0 ? -magnitude : magnitude;
    }

    private static int CompareMagnitudes(DecimalNumber a, DecimalNumber b)
    {
        if (a.Integer.Length != b.Integer.Length)
            return a.Integer.Length.CompareTo(b.Integer.Length);
        int c = string.CompareOrdinal(a.Integer, b.Integer);
        if (c != 0)
            return Math.Sign(c);
        int length = Math.Max(a.Fraction.Length, b.Fraction.Length);
        return Math.Sign(string.CompareOrdinal(a.Fraction.PadRight(length, '0'), b.Fraction.PadRight(length, '0')));
    }

    public override string ToString() =>
        IsZero ? "0" : (Negative ? "-" : "") + (Integer.Length == 0 ? "0" : Integer) + (Fraction.Length == 0 ? "" : "." + Fraction);
}
