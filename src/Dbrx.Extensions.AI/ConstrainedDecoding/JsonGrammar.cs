namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// A byte-at-a-time recognizer of compact JSON that matches a compiled schema. A state is an immutable stack of
/// frames (the value being written and every container around it), so stepping shares structure and trying a byte
/// costs a few small allocations; alternatives of <c>anyOf</c> are tracked as a set of such stacks. No insignificant
/// whitespace is allowed, which keeps output compact and rules out endless whitespace. Strings must be valid UTF-8 and
/// escape only as JSON allows (no lone surrogates). Numbers have no exponent; integers at most
/// <see cref="NumberNode.MaxIntegerDigits"/> digits, other numbers at most <see cref="NumberNode.MaxNumberDigits"/>
/// before and <see cref="NumberNode.MaxFractionDigits"/> after the point, so they fit .NET's numeric types.
/// </summary>
internal static class JsonGrammar
{
    /// <summary>An immutable stack: the innermost frame and the stack around it.</summary>
    public sealed record Stack(Frame Top, Stack? Parent);

    public abstract record Frame;

    /// <summary>The root value is finished; nothing may follow.</summary>
    public sealed record DoneFrame : Frame
    {
        public static readonly DoneFrame Instance = new();
    }

    /// <summary>A value of the node starts with the next byte.</summary>
    public sealed record ValueFrame(SchemaNode Node) : Frame;

    /// <summary>Matching fixed bytes (a literal, an enum value, an object key).</summary>
    public sealed record LiteralFrame(byte[] Bytes, int Position) : Frame;

    public enum StringPhase { Content, Escape, Unicode }

    /// <summary>Inside a string: escape state, UTF-8 bytes still owed by the current character, pattern state.</summary>
    public sealed record StringFrame(StringNode Node, StringPhase Phase, int HexDigits, bool SurrogateRisk, int Utf8Pending, byte NextLo, byte NextHi, int[]? Pattern) : Frame;

    public enum NumberPhase { Sign, Zero, Integer, Point, Fraction }

    /// <summary>Inside a number.</summary>
    public sealed record NumberFrame(bool Integer, NumberPhase Phase, int Digits) : Frame;

    public enum ObjectPhase { AfterOpen, AfterComma, InKey, AfterKey, InValue, AfterValue }

    /// <summary>
    /// Inside an object. <see cref="Next"/> is the first declared property still allowed; <see cref="Current"/> the
    /// property whose key or value is being written (−1 in a free-form object).
    /// </summary>
    public sealed record ObjectFrame(ObjectNode Node, ObjectPhase Phase, int Next, int Current) : Frame;

    public enum ArrayPhase { AfterOpen, AfterComma, InValue, AfterValue }

    /// <summary>Inside an array with <see cref="Count"/> items finished.</summary>
    public sealed record ArrayFrame(ArrayNode Node, ArrayPhase Phase, int Count) : Frame;

    /// <summary>The state before the first byte of a value of <paramref name="root"/>.</summary>
    public static Stack Start(SchemaNode root) => new(new ValueFrame(root), null);

    /// <summary>Whether the stack is a finished document that accepts no more bytes.</summary>
    public static bool IsDone(Stack stack) => stack.Top is DoneFrame;

    /// <summary>
    /// Whether the bytes so far form a whole document: finished, or a number at the root that may end here (a number
    /// only ends when something follows it, and nothing follows the root).
    /// </summary>
    public static bool IsComplete(Stack stack) =>
        stack.Top is DoneFrame || stack is { Parent: null, Top: NumberFrame { Phase: NumberPhase.Zero or NumberPhase.Integer or NumberPhase.Fraction } };

    /// <summary>Every state reachable from any of <paramref name="stacks"/> by <paramref name="b"/>; empty when the byte is rejected.</summary>
    public static List<Stack> Step(IEnumerable<Stack> stacks, byte b)
    {
        var next = new List<Stack>();
        foreach (Stack stack in stacks)
            Step(stack, b, next);
        return next;
    }

    /// <summary>Adds every state reachable from <paramref name="stack"/> by <paramref name="b"/> to <paramref name="output"/>.</summary>
    public static void Step(Stack stack, byte b, List<Stack> output)
    {
        switch (stack.Top)
        {
            case ValueFrame value:
                StartValue(value.Node, stack.Parent, b, output);
                break;
            case LiteralFrame literal:
                if (literal.Bytes[literal.Position] == b)
                    output.Add(literal.Position + 1 == literal.Bytes.Length ? Complete(stack.Parent) : stack with { Top = literal with { Position = literal.Position + 1 } });
                break;
            case StringFrame text:
                StepString(stack, text, b, output);
                break;
            case NumberFrame number:
                StepNumber(stack, number, b, output);
                break;
            case ObjectFrame obj:
                StepObject(stack, obj, b, output);
                break;
            case ArrayFrame array:
                StepArray(stack, array, b, output);
                break;
        }
    }

    private static void StartValue(SchemaNode node, Stack? parent, byte b, List<Stack> output)
    {
        switch (node)
        {
            case AnyNode any:
                foreach (SchemaNode alternative in any.Alternatives)
                    StartValue(alternative, parent, b, output);
                break;
            case AnyOfNode anyOf:
                foreach (SchemaNode option in anyOf.Options)
                    StartValue(option, parent, b, output);
                break;
            case RefNode reference:
                StartValue(reference.Target!, parent, b, output);
                break;
            case LiteralNode literal:
                foreach (byte[] bytes in literal.Alternatives)
                {
                    if (bytes[0] == b)
                        output.Add(bytes.Length == 1 ? Complete(parent) : new Stack(new LiteralFrame(bytes, 1), parent));
                }
                break;
            case StringNode text when b == '"':
                output.Add(new Stack(new StringFrame(text, StringPhase.Content, 0, false, 0, 0, 0, text.Pattern?.Start), parent));
                break;
            case NumberNode number:
                if (b == '-')
                    output.Add(new Stack(new NumberFrame(number.Integer, NumberPhase.Sign, 0), parent));
                else if (b == '0')
                    output.Add(new Stack(new NumberFrame(number.Integer, NumberPhase.Zero, 1), parent));
                else if (b is >= (byte)'1' and <= (byte)'9')
                    output.Add(new Stack(new NumberFrame(number.Integer, NumberPhase.Integer, 1), parent));
                break;
            case ObjectNode obj when b == '{':
                output.Add(new Stack(new ObjectFrame(obj, ObjectPhase.AfterOpen, 0, -1), parent));
                break;
            case ArrayNode array when b == '[':
                output.Add(new Stack(new ArrayFrame(array, ArrayPhase.AfterOpen, 0), parent));
                break;
        }
    }

    /// <summary>The parent after its child value is finished (or the finished document at the root).</summary>
    public static Stack Complete(Stack? parent)
    {
        if (parent is null)
            return new Stack(DoneFrame.Instance, null);
        return parent.Top switch
        {
            ObjectFrame { Phase: ObjectPhase.InKey } obj => parent with { Top = obj with { Phase = ObjectPhase.AfterKey } },
            ObjectFrame { Phase: ObjectPhase.InValue } obj => parent with
            {
                Top = obj with { Phase = ObjectPhase.AfterValue, Next = obj.Node.IsFreeForm ? 0 : obj.Current + 1 },
            },
            ArrayFrame { Phase: ArrayPhase.InValue } array => parent with { Top = array with { Phase = ArrayPhase.AfterValue, Count = array.Count + 1 } },
            _ => throw new InvalidOperationException($"No child value can finish in {parent.Top}."),
        };
    }

    private static void StepString(Stack stack, StringFrame s, byte b, List<Stack> output)
    {
        void Add(StringFrame next) => output.Add(stack with { Top = next });

        if (s.Utf8Pending > 0)
        {
            if (b >= s.NextLo && b <= s.NextHi)
                Add(s with { Utf8Pending = s.Utf8Pending - 1, NextLo = 0x80, NextHi = 0xBF });
            return;
        }
        switch (s.Phase)
        {
            case StringPhase.Escape:
                if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
                    Add(s with { Phase = StringPhase.Content });
                else if (b == 'u')
                    Add(s with { Phase = StringPhase.Unicode, HexDigits = 0, SurrogateRisk = false });
                return;
            case StringPhase.Unicode:
                if (!Uri.IsHexDigit((char)b))
                    return;
                // \uD800–\uDFFF would be half a surrogate pair, which JSON parsers reject on its own.
                if (s.HexDigits == 0 && b is (byte)'d' or (byte)'D')
                    Add(s with { HexDigits = 1, SurrogateRisk = true });
                else if (s.HexDigits == 1 && s.SurrogateRisk && b is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F'))
                    return;
                else
                    Add(s.HexDigits == 3 ? s with { Phase = StringPhase.Content } : s with { HexDigits = s.HexDigits + 1 });
                return;
        }
        if (b == '"')
        {
            if (s.Pattern is null || s.Node.Pattern!.Accepts(s.Pattern))
                output.Add(Complete(stack.Parent));
            return;
        }
        if (s.Pattern is not null)
        {
            // Patterned strings are plain ASCII: no escapes, no multi-byte characters.
            if (b is >= 0x20 and < 0x7F and not (byte)'\\' && s.Node.Pattern!.Step(s.Pattern, b) is { Length: > 0 } next)
                Add(s with { Pattern = next });
            return;
        }
        if (b == '\\')
            Add(s with { Phase = StringPhase.Escape });
        else if (b is >= 0x20 and < 0x80)
            Add(s);
        else if (b is >= 0xC2 and <= 0xDF)
            Add(s with { Utf8Pending = 1, NextLo = 0x80, NextHi = 0xBF });
        else if (b is >= 0xE0 and <= 0xEF)
            Add(s with { Utf8Pending = 2, NextLo = b == 0xE0 ? (byte)0xA0 : (byte)0x80, NextHi = b == 0xED ? (byte)0x9F : (byte)0xBF });
        else if (b is >= 0xF0 and <= 0xF4)
            Add(s with { Utf8Pending = 3, NextLo = b == 0xF0 ? (byte)0x90 : (byte)0x80, NextHi = b == 0xF4 ? (byte)0x8F : (byte)0xBF });
    }

    private static void StepNumber(Stack stack, NumberFrame n, byte b, List<Stack> output)
    {
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        int maxDigits = n.Integer ? NumberNode.MaxIntegerDigits : NumberNode.MaxNumberDigits;
        switch (n.Phase)
        {
            case NumberPhase.Sign when digit:
                output.Add(stack with { Top = n with { Phase = b == '0' ? NumberPhase.Zero : NumberPhase.Integer, Digits = 1 } });
                return;
            case NumberPhase.Sign:
                return;
            case NumberPhase.Integer when digit:
                if (n.Digits < maxDigits)
                    output.Add(stack with { Top = n with { Digits = n.Digits + 1 } });
                return;
            case NumberPhase.Zero or NumberPhase.Integer when b == '.' && !n.Integer:
                output.Add(stack with { Top = n with { Phase = NumberPhase.Point, Digits = 0 } });
                return;
            case NumberPhase.Point:
                if (digit)
                    output.Add(stack with { Top = n with { Phase = NumberPhase.Fraction, Digits = 1 } });
                return;
            case NumberPhase.Fraction when digit:
                if (n.Digits < NumberNode.MaxFractionDigits)
                    output.Add(stack with { Top = n with { Digits = n.Digits + 1 } });
                return;
        }
        // The number can end here (after "0", digits or a fraction): the byte belongs to whatever encloses it.
        if (!digit)
            Step(Complete(stack.Parent), b, output);
    }

    private static void StepObject(Stack stack, ObjectFrame o, byte b, List<Stack> output)
    {
        ObjectNode node = o.Node;
        switch (o.Phase)
        {
            case ObjectPhase.AfterOpen or ObjectPhase.AfterComma when b == '"':
                if (node.IsFreeForm)
                {
                    var key = new StringFrame(new StringNode(null), StringPhase.Content, 0, false, 0, 0, 0, null);
                    output.Add(new Stack(key, stack with { Top = o with { Phase = ObjectPhase.InKey, Current = -1 } }));
                    return;
                }
                foreach (int candidate in node.Candidates(o.Next))
                    output.Add(new Stack(new LiteralFrame(node.Properties[candidate].KeyLiteral, 1), stack with { Top = o with { Phase = ObjectPhase.InKey, Current = candidate } }));
                return;
            case ObjectPhase.AfterOpen when b == '}' && !node.RequiredRemain(0):
                output.Add(Complete(stack.Parent));
                return;
            case ObjectPhase.AfterKey when b == ':':
                SchemaNode value = node.IsFreeForm ? node.FreeValue! : node.Properties[o.Current].Value;
                output.Add(new Stack(new ValueFrame(value), stack with { Top = o with { Phase = ObjectPhase.InValue } }));
                return;
            case ObjectPhase.AfterValue when b == ',' && (node.IsFreeForm || o.Next < node.Properties.Count):
                output.Add(stack with { Top = o with { Phase = ObjectPhase.AfterComma } });
                return;
            case ObjectPhase.AfterValue when b == '}' && (node.IsFreeForm || !node.RequiredRemain(o.Next)):
                output.Add(Complete(stack.Parent));
                return;
        }
    }

    private static void StepArray(Stack stack, ArrayFrame a, byte b, List<Stack> output)
    {
        ArrayNode node = a.Node;
        switch (a.Phase)
        {
            case ArrayPhase.AfterOpen when b == ']':
                if (node.MinItems == 0)
                    output.Add(Complete(stack.Parent));
                return;
            case ArrayPhase.AfterOpen when node.MaxItems is not 0:
            case ArrayPhase.AfterComma:
                StartValue(node.Items, stack with { Top = a with { Phase = ArrayPhase.InValue } }, b, output);
                return;
            case ArrayPhase.AfterValue when b == ',' && (node.MaxItems is null || a.Count < node.MaxItems):
                output.Add(stack with { Top = a with { Phase = ArrayPhase.AfterComma } });
                return;
            case ArrayPhase.AfterValue when b == ']' && a.Count >= node.MinItems:
                output.Add(Complete(stack.Parent));
                return;
        }
    }

    /// <summary>
    /// Appends the shortest bytes that finish the document from this state: the current value, then what every
    /// enclosing container still needs. False if a recursive schema has no finite completion.
    /// </summary>
    public static bool AppendShortestCompletion(Stack stack, List<byte> output)
    {
        for (Stack? current = stack; current is not null && current.Top is not DoneFrame; current = current.Parent is null ? null : Complete(current.Parent))
        {
            if (!AppendOwn(current.Top, output))
                return false;
        }
        return true;
    }

    private static bool AppendOwn(Frame frame, List<byte> output)
    {
        switch (frame)
        {
            case ValueFrame value:
                if (value.Node.MinText is not { } text)
                    return false;
                output.AddRange(text);
                return true;
            case LiteralFrame literal:
                output.AddRange(literal.Bytes.AsSpan(literal.Position));
                return true;
            case StringFrame s:
                for (int i = 0; i < s.Utf8Pending; i++)
                    output.Add(i == 0 ? s.NextLo : (byte)0x80);
                if (s.Phase == StringPhase.Escape)
                    output.Add((byte)'n');
                for (int i = s.Phase == StringPhase.Unicode ? s.HexDigits : 4; i < 4; i++)
                    output.Add((byte)'0');
                if (s.Pattern is not null)
                    s.Node.Pattern!.AppendShortestCompletion(s.Pattern, output);
                output.Add((byte)'"');
                return true;
            case NumberFrame number:
                if (number.Phase is NumberPhase.Sign or NumberPhase.Point)
                    output.Add((byte)'0');
                return true;
            case ObjectFrame obj:
                return AppendObjectRest(obj, output);
            case ArrayFrame array:
                return AppendArrayRest(array, output);
            default:
                return true;
        }
    }

    private static bool AppendObjectRest(ObjectFrame o, List<byte> output)
    {
        ObjectNode node = o.Node;
        if (node.IsFreeForm)
        {
            if (o.Phase is ObjectPhase.AfterComma)
                output.AddRange("\"\""u8);
            if (o.Phase is ObjectPhase.AfterComma or ObjectPhase.AfterKey)
            {
                if (node.FreeValue!.MinText is not { } value)
                    return false;
                output.Add((byte)':');
                output.AddRange(value);
            }
            output.Add((byte)'}');
            return true;
        }
        switch (o.Phase)
        {
            case ObjectPhase.AfterOpen:
                return node.AppendRest(0, first: true, output);
            case ObjectPhase.AfterComma when node.RequiredRemain(o.Next):
                return node.AppendRest(o.Next, first: true, output);
            case ObjectPhase.AfterComma:
                int cheapest = node.Candidates(o.Next).MinBy(i => node.Properties[i].MinLength);
                if (!node.AppendProperty(cheapest, comma: false, output))
                    return false;
                output.Add((byte)'}');
                return true;
            case ObjectPhase.AfterKey:
                if (node.Properties[o.Current].Value.MinText is not { } text)
                    return false;
                output.Add((byte)':');
                output.AddRange(text);
                return node.AppendRest(o.Current + 1, first: false, output);
            default:
                return node.AppendRest(o.Next, first: false, output);
        }
    }

    private static bool AppendArrayRest(ArrayFrame a, List<byte> output)
    {
        ArrayNode node = a.Node;
        bool complete = a.Phase switch
        {
            ArrayPhase.AfterOpen => node.AppendItems(node.MinItems, leadingComma: false, output),
            ArrayPhase.AfterComma => node.AppendItems(Math.Max(1, node.MinItems - a.Count), leadingComma: false, output),
            _ => node.AppendItems(Math.Max(0, node.MinItems - a.Count), leadingComma: true, output),
        };
        output.Add((byte)']');
        return complete;
    }

    /// <summary>
    /// Whether the state is inside a plain string (no pattern, no pending escape or multi-byte character), where any
    /// token of ordinary string characters keeps it so: the case the precomputed mask serves.
    /// </summary>
    public static bool IsPlainStringContent(Stack stack) =>
        stack.Top is StringFrame { Phase: StringPhase.Content, Utf8Pending: 0, Pattern: null };
}
