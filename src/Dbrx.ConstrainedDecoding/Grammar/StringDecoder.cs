namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// The partial character: for UTF-8, the continuation bytes still owed, the bits so far and the range the next byte
/// must fall in (which rules out overlong forms and surrogates); for escapes, the hex digits read and their value,
/// and the high surrogate waiting for its low half.
/// </summary>
internal readonly record struct StringDecoder(DecoderKind Kind, int Pending = 0, int Value = 0, int NextLo = 0x80, int NextHi = 0xBF, int High = 0)
{
    public static StringDecoder Ready => default;

    /// <summary>The code points the partial character can still become, as one range (the empty range when ready).</summary>
    public (int Lo, int Hi) PossibleCodePoints()
    {
        switch (Kind)
        {
            case DecoderKind.Utf8:
            {
                int shift = 6 * (Pending - 1);
                int lo = (Value << (6 * Pending)) + ((NextLo & 0x3F) << shift);
                int hi = (Value << (6 * Pending)) + ((NextHi & 0x3F) << shift) + (1 << shift) - 1;
                return (lo, hi);
            }
            case DecoderKind.Hex:
            {
                int shift = 4 * (4 - Pending);
                return (Value << shift, ((Value + 1) << shift) - 1);
            }
            case DecoderKind.PairBackslash or DecoderKind.PairU:
                return Astral(High, 0xDC00, 0xDFFF);
            case DecoderKind.PairHex:
            {
                int shift = 4 * (4 - Pending);
                return Astral(High, Math.Max(0xDC00, Value << shift), Math.Min(0xDFFF, ((Value + 1) << shift) - 1));
            }
            default:
                return (0, CodePointSet.MaxCodePoint);
        }
    }

    /// <summary>The code points a surrogate pair with this high half and a low half in [lo, hi] stands for.</summary>
    public static (int Lo, int Hi) Astral(int high, int lowLo, int lowHi) =>
        lowLo > lowHi ? (1, 0) : (0x10000 + ((high - 0xD800) << 10) + (lowLo - 0xDC00), 0x10000 + ((high - 0xD800) << 10) + (lowHi - 0xDC00));
}
