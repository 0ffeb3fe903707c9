namespace Dbrx.ConstrainedDecoding;

// Strings: each byte moves the partial character (a UTF-8 sequence or an escape) on, and a finished character steps
// the string's character automaton and length count (StringText); a partial character is only entered if it can
// still become one the string allows.
internal sealed partial class JsonMachine
{
    private void StepString(FrameStack stack, StringFrame text, byte b, List<FrameStack> output)
    {
        StringDecoder decoder = text.Decoder;
        switch (decoder.Kind)
        {
            case DecoderKind.Ready:
                if (b == '"')
                {
                    if (StringText.Accepts(text))
                        Complete(stack.Parent, text, consumed: true, output);
                }
                else if (b == '\\')
                {
                    Continue(stack, text, new StringDecoder(DecoderKind.Escape), output);
                }
                else if (b >= 0x20 && b < 0x80)
                {
                    Feed(stack, text, b, output);
                }
                else if (StringText.Utf8Lead(b) is { } lead)
                {
                    // Without character rules the bits of a partial character do not matter: fewer states.
                    Continue(stack, text, text.Node.Dfa is null ? lead with { Value = 0 } : lead, output);
                }
                break;
            case DecoderKind.Utf8Settled when b >= decoder.NextLo && b <= decoder.NextHi:
                output.Add(Replace(stack, text with { Decoder = decoder.Pending == 1 ? StringDecoder.Ready : new StringDecoder(DecoderKind.Utf8Settled, decoder.Pending - 1) }));
                break;
            case DecoderKind.Utf8 when b >= decoder.NextLo && b <= decoder.NextHi:
                int value = text.Node.Dfa is null ? 0 : (decoder.Value << 6) | (b & 0x3F);
                if (decoder.Pending == 1)
                    Feed(stack, text, value, output);
                else
                    Continue(stack, text, new StringDecoder(DecoderKind.Utf8, decoder.Pending - 1, value), output);
                break;
            case DecoderKind.Escape:
                int escaped = StringText.EscapedChar(b);
                if (escaped >= 0)
                    Feed(stack, text, escaped, output);
                else if (b == 'u')
                    Continue(stack, text, new StringDecoder(DecoderKind.Hex), output);
                break;
            case DecoderKind.Hex or DecoderKind.PairHex when StringText.HexValue(b) is var digit and >= 0:
                int unit = decoder.Value * 16 + digit;
                bool low = decoder.Kind == DecoderKind.PairHex;
                if (decoder.Pending < 3)
                    Continue(stack, text, decoder with { Pending = decoder.Pending + 1, Value = unit }, output);
                else if (low)
                    Feed(stack, text, 0x10000 + ((decoder.High - 0xD800) << 10) + (unit - 0xDC00), output);
                else if (unit is >= 0xD800 and <= 0xDBFF)
                    Continue(stack, text, new StringDecoder(DecoderKind.PairBackslash, High: unit), output);
                else
                    Feed(stack, text, unit, output);
                break;
            case DecoderKind.PairBackslash when b == '\\':
                output.Add(Replace(stack, text with { Decoder = decoder with { Kind = DecoderKind.PairU } }));
                break;
            case DecoderKind.PairU when b == 'u':
                output.Add(Replace(stack, text with { Decoder = decoder with { Kind = DecoderKind.PairHex, Pending = 0, Value = 0 } }));
                break;
        }
    }

    /// <summary>
    /// Moves into a partial character if it can still become one the string allows. When whatever it becomes leads
    /// to the same automaton state, that state is taken at once and the rest of the character only checked for
    /// validity (fewer states: the bits of the character no longer matter).
    /// </summary>
    private void Continue(FrameStack stack, StringFrame text, StringDecoder decoder, List<FrameStack> output)
    {
        if (!StringText.CanBecomeAllowed(text, decoder))
            return;
        if (decoder.Kind == DecoderKind.Utf8 && text.Node.Dfa is { } dfa)
        {
            var (lo, hi) = decoder.PossibleCodePoints();
            int target = dfa.SingleTarget(text.State, lo, hi);
            if (target >= 0)
            {
                // The character is counted now: it is known to come.
                int count = text.Node.Lengths?.Next(text.Count) ?? text.Count;
                output.Add(Replace(stack, text with { State = target, Count = count, Decoder = new StringDecoder(DecoderKind.Utf8Settled, decoder.Pending, 0, decoder.NextLo, decoder.NextHi) }));
                return;
            }
        }
        output.Add(Replace(stack, text with { Decoder = decoder }));
    }

    private void Feed(FrameStack stack, StringFrame text, int codePoint, List<FrameStack> output)
    {
        if (StringText.Feed(text, codePoint) is { } next)
            output.Add(Replace(stack, next));
    }
}
