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
internal sealed partial class JsonMachine(FrameStackTable stacks)
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
}
