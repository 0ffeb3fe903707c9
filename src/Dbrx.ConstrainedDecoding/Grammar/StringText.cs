namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// The characters of a JSON string: decoding its bytes (UTF-8, escapes, surrogate pairs) into code points, checking
/// them against the string's character automaton or length counter, and writing the shortest completion.
/// </summary>
internal static class StringText
{
    /// <summary>Whether the string may close here (between characters, its constraints met).</summary>
    public static bool Accepts(StringFrame text) => text.Decoder.Kind == DecoderKind.Ready && (text.Node.Lengths is { } lengths
        ? lengths.Accepts(text.State, text.Count)
        : text.Node.Dfa is { } dfa ? dfa.IsAccepting(text.State) : text.Count >= text.Node.MinLength);

    /// <summary>The decoder after a UTF-8 lead byte, or null for a byte that starts no valid character.</summary>
    public static StringDecoder? Utf8Lead(byte b) => b switch
    {
        >= 0xC2 and <= 0xDF => new StringDecoder(DecoderKind.Utf8, 1, b & 0x1F),
        0xE0 => new StringDecoder(DecoderKind.Utf8, 2, 0, 0xA0, 0xBF),
        0xED => new StringDecoder(DecoderKind.Utf8, 2, 0xD, 0x80, 0x9F),
        >= 0xE1 and <= 0xEF => new StringDecoder(DecoderKind.Utf8, 2, b & 0x0F),
        0xF0 => new StringDecoder(DecoderKind.Utf8, 3, 0, 0x90, 0xBF),
        >= 0xF1 and <= 0xF3 => new StringDecoder(DecoderKind.Utf8, 3, b & 0x07),
        0xF4 => new StringDecoder(DecoderKind.Utf8, 3, 4, 0x80, 0x8F),
        _ => null,
    };

    private static readonly ByteSet ReadyBytes = ReadyByteSet();
    private static readonly ByteSet EscapeBytes = ByteSet.Of('"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u');
    private static readonly ByteSet HexBytes = ByteSet.Of("0123456789abcdefABCDEF");

    private static ByteSet ReadyByteSet()
    {
        var set = new ByteSet();
        set.AddRange(0x20, 0x7F);
        set.AddRange(0xC2, 0xF4);
        return set;
    }

    /// <summary>The bytes that may continue the string (a superset).</summary>
    public static ByteSet NextBytes(StringFrame text)
    {
        StringDecoder decoder = text.Decoder;
        switch (decoder.Kind)
        {
            case DecoderKind.Utf8 or DecoderKind.Utf8Settled:
                var set = new ByteSet();
                set.AddRange(decoder.NextLo, decoder.NextHi);
                return set;
            case DecoderKind.Escape:
                return EscapeBytes;
            case DecoderKind.Hex or DecoderKind.PairHex:
                return HexBytes;
            case DecoderKind.PairBackslash:
                return ByteSet.Of('\\');
            case DecoderKind.PairU:
                return ByteSet.Of('u');
            default:
                return ReadyBytes;
        }
    }

    /// <summary>The character a one-letter escape stands for, or −1.</summary>
    public static int EscapedChar(byte b) => b switch
    {
        (byte)'"' => '"',
        (byte)'\\' => '\\',
        (byte)'/' => '/',
        (byte)'b' => '\b',
        (byte)'f' => '\f',
        (byte)'n' => '\n',
        (byte)'r' => '\r',
        (byte)'t' => '\t',
        _ => -1,
    };

    public static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>The string after one more character, or null when the character is not allowed there.</summary>
    public static StringFrame? Feed(StringFrame text, int codePoint)
    {
        if (text.Node.Dfa is { } dfa)
        {
            int next = dfa.Step(text.State, codePoint);
            if (next < 0)
                return null;
            if (text.Node.Lengths is not { } lengths)
                return text with { State = next, Decoder = StringDecoder.Ready };
            int count = lengths.Next(text.Count);
            return lengths.Viable(next, count) ? text with { State = next, Count = count, Decoder = StringDecoder.Ready } : null;
        }
        if (text.Count >= text.Node.MaxLength)
            return null;
        return text with { Count = Math.Min(text.Count + 1, text.Node.CountCap), Decoder = StringDecoder.Ready };
    }

    /// <summary>Whether a partial character can still become one the string allows.</summary>
    public static bool CanBecomeAllowed(StringFrame text, StringDecoder decoder) =>
        decoder.Kind == DecoderKind.Utf8Settled || Candidates(decoder).Any(range => Allows(text, range.Lo, range.Hi));

    private static bool Allows(StringFrame text, int lo, int hi) => lo <= hi && (text.Node.Lengths is { } lengths
        ? lengths.AnyIn(text.State, text.Count, lo, hi)
        : text.Node.Dfa is { } dfa ? dfa.AnyIn(text.State, lo, hi) : text.Count < (text.Node.MaxLength ?? int.MaxValue));

    /// <summary>
    /// The code points a partial character can become, as ranges of scalar values: for a <c>\u</c> escape, its
    /// non-surrogate part and the characters its high surrogates pair into.
    /// </summary>
    private static IEnumerable<(int Lo, int Hi)> Candidates(StringDecoder decoder)
    {
        if (decoder.Kind == DecoderKind.Escape)
        {
            yield return (0, 0xD7FF);
            yield return (0xE000, CodePointSet.MaxCodePoint);
            yield break;
        }
        var (lo, hi) = decoder.PossibleCodePoints();
        if (decoder.Kind != DecoderKind.Hex)
        {
            yield return (lo, hi);
            yield break;
        }
        yield return (lo, Math.Min(hi, 0xD7FF));
        yield return (Math.Max(lo, 0xE000), hi);
        int highLo = Math.Max(lo, 0xD800), highHi = Math.Min(hi, 0xDBFF);
        if (highLo <= highHi)
            yield return (StringDecoder.Astral(highLo, 0xDC00, 0xDC00).Lo, StringDecoder.Astral(highHi, 0xDFFF, 0xDFFF).Hi);
    }

    /// <summary>JSON bytes of the shortest rest of the string's content (the closing quote not counted).</summary>
    public static int RestBytes(StringFrame text)
    {
        if (text.Decoder.Kind == DecoderKind.Ready && text.Node.Lengths is null)
            return text.Node.Dfa is { } dfa ? dfa.CompletionBytes(text.State) : Math.Max(0, text.Node.MinLength - text.Count);
        var bytes = new List<byte>();
        AppendRest(text, bytes);
        return bytes.Count;
    }

    /// <summary>For an undeclared key: bytes of the rest of its content and the automaton state it ends in.</summary>
    public static (int Bytes, int End) KeyCompletion(StringFrame key)
    {
        var bytes = new List<byte>();
        int end = AppendRest(key, bytes);
        return (bytes.Count, end);
    }

    /// <summary>Appends the shortest rest of the string's content (no closing quote); returns the automaton state it ends in.</summary>
    public static int AppendRest(StringFrame text, List<byte> output)
    {
        if (text.Decoder.Kind != DecoderKind.Ready)
            text = FinishCharacter(text, output);
        if (text.Node.Lengths is { } lengths)
        {
            int state = text.State, count = text.Count;
            while (!lengths.Accepts(state, count))
            {
                var (codePoint, next) = lengths.ShortestStep(state, count);
                JsonText.AppendChar(codePoint, output);
                state = next;
                count = lengths.Next(count);
            }
            return state;
        }
        if (text.Node.Dfa is { } dfa)
        {
            int state = text.State;
            while (!dfa.IsAccepting(state))
            {
                var (codePoint, next) = dfa.ShortestStep(state);
                JsonText.AppendChar(codePoint, output);
                state = next;
            }
            return state;
        }
        for (int i = text.Count; i < text.Node.MinLength; i++)
            output.Add((byte)'a');
        return 0;
    }

    /// <summary>Writes the bytes that finish the partial character (choosing the best one it can become) and returns the state after it.</summary>
    private static StringFrame FinishCharacter(StringFrame text, List<byte> output)
    {
        StringDecoder decoder = text.Decoder;
        if (decoder.Kind == DecoderKind.Utf8Settled || decoder.Kind == DecoderKind.Utf8 && text.Node.Dfa is null)
        {
            // The character's bits no longer matter (settled, or a string without character rules): any valid continuation.
            output.Add((byte)decoder.NextLo);
            for (int i = 1; i < decoder.Pending; i++)
                output.Add(0x80);
            return decoder.Kind == DecoderKind.Utf8Settled ? text with { Decoder = StringDecoder.Ready } : Feed(text, 'a')!;
        }
        int codePoint = Choose(text);
        switch (decoder.Kind)
        {
            case DecoderKind.Utf8:
                Span<byte> utf8 = stackalloc byte[4];
                int length = new System.Text.Rune(codePoint).EncodeToUtf8(utf8);
                for (int i = length - decoder.Pending; i < length; i++)
                    output.Add(utf8[i]);
                break;
            case DecoderKind.Escape:
                if (codePoint is '"' or '\\' or '/' or '\b' or '\f' or '\n' or '\r' or '\t')
                {
                    output.Add((byte)(codePoint switch { '\b' => 'b', '\f' => 'f', '\n' => 'n', '\r' => 'r', '\t' => 't', _ => codePoint }));
                }
                else
                {
                    output.Add((byte)'u');
                    AppendEscapeDigits(codePoint, 0, output);
                }
                break;
            case DecoderKind.Hex:
                AppendEscapeDigits(codePoint, decoder.Pending, output);
                break;
            case DecoderKind.PairBackslash or DecoderKind.PairU or DecoderKind.PairHex:
                int low = 0xDC00 + ((codePoint - 0x10000) & 0x3FF);
                if (decoder.Kind == DecoderKind.PairBackslash)
                    output.Add((byte)'\\');
                if (decoder.Kind != DecoderKind.PairHex)
                    output.Add((byte)'u');
                AppendHex(low, decoder.Kind == DecoderKind.PairHex ? decoder.Pending : 0, output);
                break;
        }
        return Feed(text, codePoint)!;
    }

    /// <summary>The hex digits of <c>\u</c> escapes for a code point, from digit <paramref name="written"/> of the first escape on.</summary>
    private static void AppendEscapeDigits(int codePoint, int written, List<byte> output)
    {
        if (codePoint < 0x10000)
        {
            AppendHex(codePoint, written, output);
            return;
        }
        int high = 0xD800 + ((codePoint - 0x10000) >> 10), low = 0xDC00 + ((codePoint - 0x10000) & 0x3FF);
        AppendHex(high, written, output);
        output.Add((byte)'\\');
        output.Add((byte)'u');
        AppendHex(low, 0, output);
    }

    private static void AppendHex(int unit, int written, List<byte> output)
    {
        string hex = unit.ToString("x4", System.Globalization.CultureInfo.InvariantCulture);
        for (int i = written; i < 4; i++)
            output.Add((byte)hex[i]);
    }

    /// <summary>The character a partial one becomes in the shortest completion: the one leaving the least to write.</summary>
    private static int Choose(StringFrame text)
    {
        foreach (var (lo, hi) in Candidates(text.Decoder))
        {
            if (lo > hi)
                continue;
            if (text.Node.Lengths is { } lengths)
            {
                if (lengths.BestIn(text.State, text.Count, lo, hi) is { } best)
                    return best.CodePoint;
            }
            else if (text.Node.Dfa is { } dfa)
            {
                if (dfa.BestIn(text.State, lo, hi) is { } best)
                    return best.CodePoint;
            }
            else if (Allows(text, lo, hi))
            {
                return CharDfa.PreferredIn(lo, hi);
            }
        }
        throw new InvalidOperationException("A partial character that can become no allowed character was entered.");
    }
}
