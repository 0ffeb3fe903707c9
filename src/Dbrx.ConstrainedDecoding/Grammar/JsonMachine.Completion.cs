namespace Dbrx.ConstrainedDecoding;

// The shortest completion of the document from a stack: its length in bytes (CloseBytes, cached on each FrameStack,
// which the token budget is checked against) and its bytes (AppendCompletion, the plan a constraint falls back on).
internal sealed partial class JsonMachine
{
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
