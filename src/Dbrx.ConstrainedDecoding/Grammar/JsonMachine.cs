namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// The byte-at-a-time recognizer of compact JSON that matches a compiled schema (<see cref="GrammarNode"/>s). A state
/// is an interned <see cref="FrameStack"/> of <see cref="Frame"/>s; alternatives (anyOf, keys that share a prefix) are
/// followed side by side as several stacks. No insignificant whitespace is allowed, which keeps output compact and
/// rules out endless whitespace. Strings must be valid UTF-8 and escape only as JSON allows (no lone surrogates);
/// their characters are decoded (escapes included) and checked by the string's character automaton. Every state the
/// recognizer enters can still be completed (dead ends are cut where they start), and <see cref="AppendCompletion"/>
/// writes the shortest completion from it.
/// </summary>
internal sealed class JsonMachine(FrameStackTable stacks)
{
    /// <summary>The state before the first byte of a value of <paramref name="root"/>.</summary>
    public FrameStack Start(GrammarNode root) => stacks.Get(new ValueFrame(root), null);

    /// <summary>The frame alone, over an unknown parent: it is stepped without context, and its completion is an exit.</summary>
    public FrameStack Local(Frame top) => stacks.Get(top, stacks.Get(ContextFrame.Instance, null));

    /// <summary>The states after a frame completed over a real <paramref name="parent"/> (see <see cref="ExitFrame"/>).</summary>
    public void Resume(FrameStack? parent, ExitFrame exit, List<FrameStack> output) => Complete(parent, exit.Child, consumed: true, output);

    /// <summary>Whether nothing may follow (the document is finished).</summary>
    public static bool IsDone(FrameStack stack) => stack.Top is DoneFrame;

    /// <summary>
    /// Whether the bytes so far form a whole document: finished, or a number (or literal) at the root that may end
    /// here (such a value only ends when something follows it, and nothing follows the root).
    /// </summary>
    public static bool IsComplete(FrameStack stack) => stack.Top switch
    {
        DoneFrame => true,
        NumberFrame number => stack.Parent is null && number.Node.Dfa.IsAccepting(number.State),
        LiteralFrame literal => stack.Parent is null && literal.Node.IsTerminal(literal.Position),
        _ => false,
    };

    /// <summary>
    /// The bytes that may continue a stack (a superset: where the top frame may complete, any byte, since the
    /// container decides): walks skip the others without stepping.
    /// </summary>
    public static ByteSet NextBytes(FrameStack stack)
    {
        switch (stack.Top)
        {
            case DoneFrame or ContextFrame or ExitFrame:
                return default;
            case ValueFrame value:
                return value.Node.FirstBytes;
            case KeyFrame key:
                return ByteSet.Of((char)key.Key[key.Position]);
            case LiteralFrame literal:
                return literal.Node.IsTerminal(literal.Position) ? ByteSet.All : literal.Node.NextBytes(literal.Position);
            case NumberFrame number:
                return number.Node.Dfa.IsAccepting(number.State) ? ByteSet.All : number.Node.NextBytes(number.State);
            case StringFrame text:
                return StringText.NextBytes(text);
            case ObjectFrame obj:
                return obj.Phase switch
                {
                    ObjectPhase.AfterOpen => ByteSet.Of('"', '}'),
                    ObjectPhase.AfterComma => ByteSet.Of('"'),
                    ObjectPhase.AfterKey => ByteSet.Of(':'),
                    ObjectPhase.BeforeValue => (obj.Current >= 0 ? obj.Node.Properties[obj.Current].Value : obj.Value!).FirstBytes,
                    ObjectPhase.AfterValue => ByteSet.Of(',', '}'),
                    _ => ByteSet.All,
                };
            case ArrayFrame array:
                switch (array.Phase)
                {
                    case ArrayPhase.AfterOpen:
                        var set = ByteSet.Of(']');
                        if (array.Node.ItemAt(0) is { } first)
                            set.UnionWith(first.FirstBytes);
                        return set;
                    case ArrayPhase.AfterComma:
                        return array.Node.ItemAt(array.Count)?.FirstBytes ?? default;
                    case ArrayPhase.AfterValue:
                        return ByteSet.Of(',', ']');
                    default:
                        return ByteSet.All;
                }
            default:
                return ByteSet.All;
        }
    }

    /// <summary>Adds every state reachable from <paramref name="stack"/> by <paramref name="b"/> to <paramref name="output"/>.</summary>
    public void Step(FrameStack stack, byte b, List<FrameStack> output)
    {
        switch (stack.Top)
        {
            case ValueFrame value:
                StartValue(value.Node, stack.Parent, b, output);
                break;
            case LiteralFrame literal:
                int position = literal.Node.Step(literal.Position, b);
                if (position >= 0)
                    EnterLiteral(literal.Node, position, stack.Parent, output);
                if (literal.Node.IsTerminal(literal.Position))
                    CompleteThenStep(stack.Parent, literal, b, output);
                break;
            case KeyFrame key when key.Key[key.Position] == b:
                if (key.Position + 1 == key.Key.Length)
                    Complete(stack.Parent, key with { Position = key.Position + 1 }, consumed: true, output);
                else
                    output.Add(Replace(stack, key with { Position = key.Position + 1 }));
                break;
            case StringFrame text:
                StepString(stack, text, b, output);
                break;
            case NumberFrame number:
                int state = number.Node.Dfa.Step(number.State, b);
                if (state >= 0)
                    output.Add(Replace(stack, number with { State = state }));
                // A number ends when something else follows: that byte belongs to the container.
                if (number.Node.Dfa.IsAccepting(number.State))
                    CompleteThenStep(stack.Parent, number, b, output);
                break;
            case ObjectFrame obj:
                StepObject(stack, obj, b, output);
                break;
            case ArrayFrame array:
                StepArray(stack, array, b, output);
                break;
        }
    }

    private FrameStack Replace(FrameStack stack, Frame top) => stacks.Get(top, stack.Parent);

    private FrameStack Push(Frame top, FrameStack? parent) => stacks.Get(top, parent);

    private void StartValue(GrammarNode node, FrameStack? parent, byte b, List<FrameStack> output)
    {
        if (!node.IsPossible)
            return;
        switch (node)
        {
            case ChoiceNode choice:
                foreach (GrammarNode option in choice.Options)
                    StartValue(option, parent, b, output);
                break;
            case LiteralNode literal:
                int position = literal.Step(0, b);
                if (position >= 0)
                    EnterLiteral(literal, position, parent, output);
                break;
            case StringNode text when b == '"':
                output.Add(Push(new StringFrame(text, text.Dfa?.Start ?? 0, 0, StringDecoder.Ready), parent));
                break;
            case NumberNode number:
                int state = number.Dfa.Step(number.Dfa.Start, b);
                if (state >= 0)
                    output.Add(Push(new NumberFrame(number, state), parent));
                break;
            case ObjectNode obj when b == '{':
                output.Add(Push(new ObjectFrame(obj, ObjectPhase.AfterOpen, 0, -1, 0, null), parent));
                break;
            case ArrayNode array when b == '[':
                output.Add(Push(new ArrayFrame(array, ArrayPhase.AfterOpen, 0), parent));
                break;
        }
    }

    private void EnterLiteral(LiteralNode literal, int position, FrameStack? parent, List<FrameStack> output)
    {
        // A text that nothing longer extends is complete at once; otherwise the next byte decides.
        var frame = new LiteralFrame(literal, position);
        if (literal.IsTerminal(position) && !literal.HasContinuation(position))
            Complete(parent, frame, consumed: true, output);
        else
            output.Add(Push(frame, parent));
    }

    /// <summary>A value without an end mark (a number) ended before <paramref name="b"/>, which the container then reads.</summary>
    private void CompleteThenStep(FrameStack? parent, Frame child, byte b, List<FrameStack> output)
    {
        if (parent?.Top is ContextFrame)
        {
            output.Add(Push(new ExitFrame(child, Consumed: false), null));
            return;
        }
        var completed = new List<FrameStack>(1);
        Complete(parent, child, consumed: true, completed);
        foreach (FrameStack stack in completed)
            Step(stack, b, output);
    }

    /// <summary>The child above <paramref name="parent"/> (finished in state <paramref name="child"/>) is done: the container moves on.</summary>
    private void Complete(FrameStack? parent, Frame child, bool consumed, List<FrameStack> output)
    {
        if (parent is null)
        {
            output.Add(Push(DoneFrame.Instance, null));
            return;
        }
        switch (parent.Top)
        {
            case ContextFrame:
                output.Add(Push(new ExitFrame(child, consumed), null));
                break;
            case ObjectFrame { Phase: ObjectPhase.InExtraKey } obj when child is StringFrame { Node.KeyValues: { } values } key:
                output.Add(Replace(parent, obj with { Phase = ObjectPhase.AfterKey, Value = values[key.State], Next = obj.Node.Properties.Count }));
                break;
            case ObjectFrame { Phase: ObjectPhase.InDeclaredKey } obj:
                output.Add(Replace(parent, obj with { Phase = ObjectPhase.AfterKey }));
                break;
            case ObjectFrame { Phase: ObjectPhase.InValue } obj:
                output.Add(Replace(parent, obj with
                {
                    Phase = ObjectPhase.AfterValue,
                    Next = obj.Current >= 0 ? obj.Current + 1 : obj.Next,
                    Current = -1,
                    Value = null,
                    Count = Math.Min(obj.Count + 1, obj.Node.CountCap),
                }));
                break;
            case ArrayFrame array:
                output.Add(Replace(parent, array with { Phase = ArrayPhase.AfterValue, Count = Math.Min(array.Count + 1, array.Node.CountCap) }));
                break;
        }
    }

    private void StepObject(FrameStack stack, ObjectFrame obj, byte b, List<FrameStack> output)
    {
        ObjectNode node = obj.Node;
        switch (obj.Phase)
        {
            case ObjectPhase.AfterOpen or ObjectPhase.AfterComma when b == '"':
                foreach (int i in node.Candidates(obj.Next, obj.Count))
                    output.Add(Push(new KeyFrame(node.Properties[i].Key, 1), Replace(stack, obj with { Phase = ObjectPhase.InDeclaredKey, Current = i })));
                if (node.ExtrasAllowed(obj.Next, obj.Count))
                {
                    StringNode keys = node.ExtraKeys!;
                    output.Add(Push(new StringFrame(keys, keys.Dfa!.Start, 0, StringDecoder.Ready), Replace(stack, obj with { Phase = ObjectPhase.InExtraKey })));
                }
                break;
            case ObjectPhase.AfterOpen when b == '}' && node.CanClose(obj.Next, obj.Count):
                Complete(stack.Parent, obj, consumed: true, output);
                break;
            case ObjectPhase.AfterKey when b == ':':
                output.Add(Replace(stack, obj with { Phase = ObjectPhase.BeforeValue }));
                break;
            case ObjectPhase.BeforeValue:
                GrammarNode value = obj.Current >= 0 ? node.Properties[obj.Current].Value : obj.Value!;
                StartValue(value, Replace(stack, obj with { Phase = ObjectPhase.InValue }), b, output);
                break;
            case ObjectPhase.AfterValue when b == ',' && (node.Candidates(obj.Next, obj.Count).Any() || node.ExtrasAllowed(obj.Next, obj.Count)):
                output.Add(Replace(stack, obj with { Phase = ObjectPhase.AfterComma }));
                break;
            case ObjectPhase.AfterValue when b == '}' && node.CanClose(obj.Next, obj.Count):
                Complete(stack.Parent, obj, consumed: true, output);
                break;
        }
    }

    private void StepArray(FrameStack stack, ArrayFrame array, byte b, List<FrameStack> output)
    {
        ArrayNode node = array.Node;
        switch (array.Phase)
        {
            case ArrayPhase.AfterOpen when b == ']':
                if (node.MinItems == 0)
                    Complete(stack.Parent, array, consumed: true, output);
                break;
            case ArrayPhase.AfterOpen or ArrayPhase.AfterComma:
                if (node.CanAdd(array.Count))
                    StartValue(node.ItemAt(array.Count)!, Replace(stack, array with { Phase = ArrayPhase.InValue }), b, output);
                break;
            case ArrayPhase.AfterValue when b == ',' && node.CanAdd(array.Count):
                output.Add(Replace(stack, array with { Phase = ArrayPhase.AfterComma }));
                break;
            case ArrayPhase.AfterValue when b == ']' && array.Count >= node.MinItems:
                Complete(stack.Parent, array, consumed: true, output);
                break;
        }
    }

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

    /// <summary>Bytes of the shortest completion of the document from the stack (see <see cref="AppendCompletion"/>).</summary>
    public static int CloseBytes(FrameStack stack)
    {
        switch (stack.Top)
        {
            case StringFrame { Node.KeyValues: not null } key when stack.Parent!.Top is ObjectFrame obj:
            {
                // An undeclared key: which value follows depends on the key, so key and value are counted together.
                var (keyBytes, end) = StringText.KeyCompletion(key);
                GrammarNode value = key.Node.KeyValues![end]!;
                long total = keyBytes + 1 + 1 + (long)value.MinBytes + obj.Node.RestAfter(obj.Node.Properties.Count, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap));
                return Saturate(total + (stack.Parent.Parent?.CloseBytesAsParent ?? 0));
            }
            default:
                return Saturate((long)OwnCloseBytes(stack.Top) + (stack.Parent?.CloseBytesAsParent ?? 0));
        }
    }

    /// <summary>
    /// Bytes that finish a container (and those around it) once its child is complete; under an undeclared key, where
    /// that depends on the key, an upper bound.
    /// </summary>
    public static int CloseBytesAsParent(FrameStack stack)
    {
        long own = stack.Top switch
        {
            ObjectFrame { Phase: ObjectPhase.InDeclaredKey } obj => AfterKeyBytes(obj),
            ObjectFrame { Phase: ObjectPhase.InValue } obj => obj.Node.RestAfter(obj.Current >= 0 ? obj.Current + 1 : obj.Next, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap)),
            // Under an undeclared key the value depends on the key: a bound, with the longest value any key calls for.
            ObjectFrame { Phase: ObjectPhase.InExtraKey } obj => 1L + obj.Node.ExtraKeys!.MaxValueBytes + obj.Node.RestAfter(obj.Node.Properties.Count, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap)),
            ArrayFrame array => array.Node.RestAfter(Math.Min(array.Count + 1, array.Node.CountCap)),
            // Over an unknown parent, closing means completing the frame above.
            ContextFrame => 0,
            _ => GrammarNode.Never,
        };
        return Saturate(own + (stack.Parent?.CloseBytesAsParent ?? 0));
    }

    private static int Saturate(long value) => (int)Math.Min(value, GrammarNode.Never);

    private static long ValueBytes(ObjectFrame obj) => obj.Current >= 0 ? obj.Node.Properties[obj.Current].Value.MinBytes : obj.Value!.MinBytes;

    /// <summary>After a key (before the colon): colon, value, and the rest of the object.</summary>
    private static long AfterKeyBytes(ObjectFrame obj) => 1 + BeforeValueBytes(obj);

    private static long BeforeValueBytes(ObjectFrame obj) =>
        ValueBytes(obj) + obj.Node.RestAfter(obj.Current >= 0 ? obj.Current + 1 : obj.Node.Properties.Count, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap));

    private static long OwnCloseBytes(Frame frame) => frame switch
    {
        DoneFrame or ExitFrame => 0,
        ValueFrame value => value.Node.MinBytes,
        LiteralFrame literal => literal.Node.RemainingBytes(literal.Position),
        KeyFrame key => key.Key.Length - key.Position,
        NumberFrame number => number.Node.Dfa.CompletionBytes(number.State),
        StringFrame text => StringText.RestBytes(text) + 1L,
        ObjectFrame obj => obj.Phase switch
        {
            ObjectPhase.AfterOpen => obj.Node.RestAfter(obj.Next, first: true, obj.Count),
            ObjectPhase.AfterComma => obj.Node.RestAfterComma(obj.Next, obj.Count),
            ObjectPhase.AfterKey => AfterKeyBytes(obj),
            ObjectPhase.BeforeValue => BeforeValueBytes(obj),
            ObjectPhase.AfterValue => obj.Node.RestAfter(obj.Next, first: false, obj.Count),
            _ => GrammarNode.Never,
        },
        ArrayFrame array => array.Phase switch
        {
            ArrayPhase.AfterOpen => array.Node.RestAfter(0),
            ArrayPhase.AfterComma => (long)(array.Node.ItemAt(array.Count)?.MinBytes ?? GrammarNode.Never) + array.Node.RestAfter(Math.Min(array.Count + 1, array.Node.CountCap)),
            ArrayPhase.AfterValue => array.Node.RestAfter(array.Count),
            _ => GrammarNode.Never,
        },
        _ => GrammarNode.Never,
    };

    /// <summary>Appends the shortest bytes that finish the whole document from the stack.</summary>
    public static void AppendCompletion(FrameStack stack, List<byte> output)
    {
        FrameStack? parent = stack.Parent;
        switch (stack.Top)
        {
            case StringFrame { Node.KeyValues: not null } key when parent!.Top is ObjectFrame obj:
                int end = StringText.AppendRest(key, output);
                output.Add((byte)'"');
                AppendAfterKey(obj with { Value = key.Node.KeyValues![end], Current = -1 }, output);
                parent = parent.Parent;
                break;
            default:
                AppendOwn(stack.Top, output);
                break;
        }
        for (; parent is not null; parent = parent.Parent)
            AppendAsParent(parent.Top, output);
    }

    private static void AppendOwn(Frame frame, List<byte> output)
    {
        switch (frame)
        {
            case ValueFrame value:
                value.Node.AppendShortest(output);
                break;
            case LiteralFrame literal:
                literal.Node.AppendRest(literal.Position, output);
                break;
            case KeyFrame key:
                output.AddRange(key.Key.AsSpan(key.Position).ToArray());
                break;
            case NumberFrame number:
                for (int state = number.State; !number.Node.Dfa.IsAccepting(state);)
                {
                    var (b, next) = number.Node.Dfa.ShortestStep(state);
                    output.Add((byte)b);
                    state = next;
                }
                break;
            case StringFrame text:
                StringText.AppendRest(text, output);
                output.Add((byte)'"');
                break;
            case ObjectFrame obj:
                switch (obj.Phase)
                {
                    case ObjectPhase.AfterOpen:
                        obj.Node.AppendRest(obj.Next, first: true, obj.Count, output);
                        break;
                    case ObjectPhase.AfterComma:
                        obj.Node.AppendRestAfterComma(obj.Next, obj.Count, output);
                        break;
                    case ObjectPhase.AfterKey:
                        AppendAfterKey(obj, output);
                        break;
                    case ObjectPhase.BeforeValue:
                        AppendBeforeValue(obj, output);
                        break;
                    case ObjectPhase.AfterValue:
                        obj.Node.AppendRest(obj.Next, first: false, obj.Count, output);
                        break;
                }
                break;
            case ArrayFrame array:
                switch (array.Phase)
                {
                    case ArrayPhase.AfterOpen:
                        array.Node.AppendRest(0, output);
                        break;
                    case ArrayPhase.AfterComma:
                        array.Node.ItemAt(array.Count)!.AppendShortest(output);
                        array.Node.AppendRest(Math.Min(array.Count + 1, array.Node.CountCap), output);
                        break;
                    case ArrayPhase.AfterValue:
                        array.Node.AppendRest(array.Count, output);
                        break;
                }
                break;
        }
    }

    private static void AppendAsParent(Frame frame, List<byte> output)
    {
        switch (frame)
        {
            case ObjectFrame { Phase: ObjectPhase.InDeclaredKey } obj:
                AppendAfterKey(obj, output);
                break;
            case ObjectFrame { Phase: ObjectPhase.InValue } obj:
                obj.Node.AppendRest(obj.Current >= 0 ? obj.Current + 1 : obj.Next, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap), output);
                break;
            case ArrayFrame array:
                array.Node.AppendRest(Math.Min(array.Count + 1, array.Node.CountCap), output);
                break;
        }
    }

    private static void AppendAfterKey(ObjectFrame obj, List<byte> output)
    {
        output.Add((byte)':');
        AppendBeforeValue(obj, output);
    }

    private static void AppendBeforeValue(ObjectFrame obj, List<byte> output)
    {
        (obj.Current >= 0 ? obj.Node.Properties[obj.Current].Value : obj.Value!).AppendShortest(output);
        obj.Node.AppendRest(obj.Current >= 0 ? obj.Current + 1 : obj.Node.Properties.Count, first: false, Math.Min(obj.Count + 1, obj.Node.CountCap), output);
    }
}
