namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Builds the automaton of JSON number text for a <see cref="NumberSpec"/>, over the bytes of the number (as
/// <see cref="CharDfa"/> code points). Bounds are checked digit by digit, as a comparison of the digits read so far
/// with the bound's (so numbers of any length are exact), and a <c>multipleOf</c> m·10^-k by the remainder modulo m of
/// the value scaled by 10^k. A state from which no number in range can be finished is never entered. Numbers of any
/// length are allowed; exponents only where nothing is checked (<see cref="NumberSpec.AllowsExponent"/>); no minus
/// sign where the lower bound is zero or more (only <c>-0</c> could follow).
/// </summary>
internal static class NumberAutomaton
{
    /// <summary>The largest multipleOf mantissa m enforced (the remainder is part of the state).</summary>
    public const int MaxModulus = 10_000;

    private enum Phase { Start, Minus, Zero, Int, Point, Fraction, Exponent, ExponentSign, ExponentDigits }

    // A comparison of the magnitude read so far with a bound's magnitude: in the integer part (relation of the
    // digits so far with as many leading digits of the bound), in the fraction (position and relation), or decided.
    private const int IntStage = 0, FractionStage = 1, Decided = 2;

    // How a bound applies once the sign is known: fixed, by magnitude, by reversed magnitude (both negative), or
    // as zero against a negative number (equal only to -0).
    private const int Unsigned = 0, FixedLess = 1, FixedGreater = 2, ByMagnitude = 3, ByReversedMagnitude = 4, NegativeVersusZero = 5;

    // Key layout: phase, intLength, then per bound (mode, stage, relation, position), then remainder and fraction digits.
    private const int KPhase = 0, KIntLength = 1, KLow = 2, KHigh = 6, KRemainder = 10, KFractionDigits = 11, KeyLength = 12;

    /// <summary>The automaton.</summary>
    /// <exception cref="FormatException">The multipleOf cannot be checked (too fine or too large); the message says why.</exception>
    public static CharDfa Build(NumberSpec spec, SchemaCompileBudget budget)
    {
        var builder = new Builder(spec);
        var start = new int[KeyLength];
        return CharDfa.Explore(start, builder.Successors, builder.IsAccepting, budget);
    }

    private sealed class Builder
    {
        private readonly NumberSpec spec;
        private readonly DecimalNumber?[] bounds;
        private readonly bool[] exclusive;
        private readonly int intCap;
        private readonly int modulus, scale;

        public Builder(NumberSpec spec)
        {
            this.spec = spec;
            bounds = [spec.Minimum, spec.Maximum];
            exclusive = [spec.MinimumExclusive, spec.MaximumExclusive];
            intCap = Math.Max(spec.Minimum?.Integer.Length ?? 0, spec.Maximum?.Integer.Length ?? 0) + 1;
            if (spec.MultipleOf is { } multiple)
            {
                var mantissa = multiple.ScaledMagnitude;
                if (mantissa > MaxModulus)
                    throw new FormatException($"a multipleOf whose digits exceed {MaxModulus} is not enforced");
                modulus = (int)mantissa;
                scale = multiple.Fraction.Length;
            }
            else
            {
                modulus = 1;
            }
        }

        public IEnumerable<(int Lo, int Hi, int[] Target)> Successors(int[] key)
        {
            var phase = (Phase)key[KPhase];
            switch (phase)
            {
                case Phase.Start:
                    // With a lower bound of zero or more only "-0" could follow a minus: it is not written (.NET's
                    // unsigned types refuse it).
                    if (spec.Minimum is not { Sign: >= 0 })
                        yield return ('-', '-', Signed(key, negative: true, Phase.Minus));
                    yield return ('0', '0', Digit(Signed(key, negative: false, Phase.Zero), 0, Phase.Zero));
                    foreach (int d in Enumerable.Range(1, 9))
                        yield return ('0' + d, '0' + d, Digit(Signed(key, negative: false, Phase.Int), d, Phase.Int));
                    break;
                case Phase.Minus:
                    yield return ('0', '0', Digit(key, 0, Phase.Zero));
                    foreach (int d in Enumerable.Range(1, 9))
                        yield return ('0' + d, '0' + d, Digit(key, d, Phase.Int));
                    break;
                case Phase.Zero or Phase.Int:
                    if (!spec.Integer)
                        yield return ('.', '.', With(EndIntegerPart(key), Phase.Point));
                    if (phase == Phase.Int)
                    {
                        foreach (int d in Enumerable.Range(0, 10))
                            yield return ('0' + d, '0' + d, Digit(key, d, Phase.Int));
                    }
                    foreach (var e in Exponent(key))
                        yield return e;
                    break;
                case Phase.Point or Phase.Fraction:
                    foreach (int d in Enumerable.Range(0, 10))
                    {
                        if (FractionDigit(key, d) is { } next)
                            yield return ('0' + d, '0' + d, next);
                    }
                    if (phase == Phase.Fraction)
                    {
                        foreach (var e in Exponent(key))
                            yield return e;
                    }
                    break;
                case Phase.Exponent:
                    yield return ('+', '+', With(key, Phase.ExponentSign));
                    yield return ('-', '-', With(key, Phase.ExponentSign));
                    yield return ('0', '9', With(key, Phase.ExponentDigits));
                    break;
                case Phase.ExponentSign or Phase.ExponentDigits:
                    yield return ('0', '9', With(key, Phase.ExponentDigits));
                    break;
            }
        }

        private IEnumerable<(int, int, int[])> Exponent(int[] key)
        {
            if (spec.AllowsExponent)
            {
                yield return ('E', 'E', With(key, Phase.Exponent));
                yield return ('e', 'e', With(key, Phase.Exponent));
            }
        }

        private static int[] With(int[] key, Phase phase)
        {
            int[] next = (int[])key.Clone();
            next[KPhase] = (int)phase;
            return next;
        }

        /// <summary>Fixes how each bound compares once the sign is read.</summary>
        private int[] Signed(int[] key, bool negative, Phase phase)
        {
            int[] next = With(key, phase);
            for (int b = 0; b < 2; b++)
            {
                if (bounds[b] is not { } bound)
                    continue;
                int mode = (negative, bound.Sign) switch
                {
                    (false, < 0) => FixedGreater,
                    (false, _) => ByMagnitude,
                    (true, > 0) => FixedLess,
                    (true, 0) => NegativeVersusZero,
                    (true, _) => ByReversedMagnitude,
                };
                int k = b == 0 ? KLow : KHigh;
                next[k] = mode;
                next[k + 1] = mode is FixedLess or FixedGreater ? Decided : IntStage;
            }
            return next;
        }

        /// <summary>A digit of the integer part: the length grows (capped where it no longer matters) and each comparison advances.</summary>
        private int[] Digit(int[] key, int digit, Phase phase)
        {
            int[] next = With(key, phase);
            // A leading zero is the whole integer part: its magnitude has no integer digits.
            if (phase != Phase.Zero)
            {
                int position = key[KIntLength];
                for (int b = 0; b < 2; b++)
                {
                    int k = b == 0 ? KLow : KHigh;
                    if (bounds[b] is { } bound && next[k + 1] == IntStage && next[k + 2] == 0 && position < bound.Integer.Length)
                        next[k + 2] = Math.Sign(digit - (bound.Integer[position] - '0'));
                }
                next[KIntLength] = Math.Min(position + 1, intCap);
            }
            next[KRemainder] = (int)((next[KRemainder] * 10L + digit) % modulus);
            return next;
        }

        /// <summary>At the end of the integer part, each comparison still open is decided or moves to the fraction.</summary>
        private int[] EndIntegerPart(int[] key)
        {
            int[] next = (int[])key.Clone();
            for (int b = 0; b < 2; b++)
            {
                int k = b == 0 ? KLow : KHigh;
                if (bounds[b] is not { } bound || next[k + 1] != IntStage)
                    continue;
                int length = key[KIntLength], boundLength = bound.Integer.Length;
                if (length != boundLength)
                {
                    next[k + 1] = Decided;
                    next[k + 2] = length < boundLength ? -1 : 1;
                }
                else if (next[k + 2] != 0)
                {
                    next[k + 1] = Decided;
                }
                else
                {
                    next[k + 1] = FractionStage;
                    next[k + 3] = 0;
                }
            }
            return next;
        }

        private int[]? FractionDigit(int[] key, int digit)
        {
            int[] next = With(key, Phase.Fraction);
            for (int b = 0; b < 2; b++)
            {
                int k = b == 0 ? KLow : KHigh;
                if (bounds[b] is not { } bound || next[k + 1] != FractionStage)
                    continue;
                string fraction = bound.Fraction;
                int position = next[k + 3];
                if (next[k + 2] == 0)
                    next[k + 2] = Math.Sign(digit - (position < fraction.Length ? fraction[position] - '0' : 0));
                next[k + 3] = Math.Min(position + 1, fraction.Length);
            }
            if (spec.MultipleOf is not null)
            {
                if (next[KFractionDigits] < scale)
                {
                    next[KRemainder] = (int)((next[KRemainder] * 10L + digit) % modulus);
                    next[KFractionDigits]++;
                }
                else if (digit != 0)
                {
                    // A digit past the multiple's own decimals makes the value no multiple of it.
                    return null;
                }
            }
            return next;
        }

        public bool IsAccepting(int[] key)
        {
            if ((Phase)key[KPhase] is not (Phase.Zero or Phase.Int or Phase.Fraction or Phase.ExponentDigits))
                return false;
            int[] final = (Phase)key[KPhase] is Phase.Zero or Phase.Int ? EndIntegerPart(key) : key;
            for (int b = 0; b < 2; b++)
            {
                if (bounds[b] is not { } bound)
                    continue;
                int k = b == 0 ? KLow : KHigh;
                int relation = final[k + 2];
                if (final[k + 1] == FractionStage && relation == 0 && final[k + 3] < bound.Fraction.Length)
                    relation = -1;
                relation = final[k] switch
                {
                    FixedLess => -1,
                    FixedGreater => 1,
                    ByReversedMagnitude => -relation,
                    NegativeVersusZero => relation == 0 ? 0 : -1,
                    _ => relation,
                };
                bool ok = b == 0 ? relation > 0 || relation == 0 && !exclusive[0] : relation < 0 || relation == 0 && !exclusive[1];
                if (!ok)
                    return false;
            }
            if (spec.MultipleOf is not null)
            {
                long remainder = key[KRemainder];
                for (int i = key[KFractionDigits]; i < scale; i++)
                    remainder = remainder * 10 % modulus;
                if (remainder != 0)
                    return false;
            }
            return true;
        }
    }
}
