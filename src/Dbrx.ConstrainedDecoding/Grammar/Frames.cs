namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// One level of the recognizer's state: the value being written, or a container around it. Frames are immutable
/// values (records compare by their fields; nodes by reference), so equal states are equal objects after interning
/// (<see cref="FrameStack"/>), which is what lets masks and transitions be cached per state.
/// </summary>
internal abstract record Frame;

/// <summary>The document is finished; nothing may follow.</summary>
internal sealed record DoneFrame : Frame
{
    public static readonly DoneFrame Instance = new();
}

/// <summary>
/// Stands below a frame that is stepped on its own (see <see cref="CompiledGrammar"/>'s local masks): its parent is
/// not known, so when the frame completes, the recognizer stops with an <see cref="ExitFrame"/> instead.
/// </summary>
internal sealed record ContextFrame : Frame
{
    public static readonly ContextFrame Instance = new();
}

/// <summary>
/// The frame stepped on its own completed (<see cref="Child"/> is its last state): what follows belongs to a parent
/// the local walk does not know. <see cref="Consumed"/> says whether the byte that completed it was part of it (a
/// closing quote, brace or bracket) or belongs to the parent (the byte after a number).
/// </summary>
internal sealed record ExitFrame(Frame Child, bool Consumed) : Frame;

/// <summary>A value of the node starts with the next byte.</summary>
internal sealed record ValueFrame(GrammarNode Node) : Frame;

/// <summary>Inside one of a literal node's texts, at a trie node.</summary>
internal sealed record LiteralFrame(LiteralNode Node, int Position) : Frame;

/// <summary>Inside a declared property's key (its compact JSON, quotes included), <see cref="Position"/> bytes in.</summary>
internal sealed record KeyFrame(byte[] Key, int Position) : Frame;

/// <summary>Inside a number, at a state of its automaton.</summary>
internal sealed record NumberFrame(NumberNode Node, int State) : Frame;

/// <summary>
/// Inside a string, after the opening quote: the state of its character automaton (or the character count, for a
/// string without one) and how far the current character's encoding has come.
/// </summary>
internal sealed record StringFrame(StringNode Node, int State, int Count, StringDecoder Decoder) : Frame;

/// <summary>Where a string's bytes are inside one character.</summary>
internal enum DecoderKind
{
    /// <summary>Between characters.</summary>
    Ready,

    /// <summary>Inside a multi-byte UTF-8 character.</summary>
    Utf8,

    /// <summary>
    /// Inside a multi-byte UTF-8 character whose transition is already known (every character its bytes so far can
    /// become leads to the same state, which the frame already holds): only valid continuation bytes remain.
    /// </summary>
    Utf8Settled,

    /// <summary>After a backslash.</summary>
    Escape,

    /// <summary>Inside the hex digits of <c>\u</c>.</summary>
    Hex,

    /// <summary>After a high-surrogate escape, before the backslash of its low half.</summary>
    PairBackslash,

    /// <summary>Before the <c>u</c> of the low half.</summary>
    PairU,

    /// <summary>Inside the low half's hex digits.</summary>
    PairHex,
}

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

internal enum ObjectPhase
{
    /// <summary>After <c>{</c>.</summary>
    AfterOpen,

    /// <summary>After a comma: a key must follow.</summary>
    AfterComma,

    /// <summary>A declared key (number <c>Current</c>) is being written above.</summary>
    InDeclaredKey,

    /// <summary>An undeclared key is being written above.</summary>
    InExtraKey,

    /// <summary>After a key: the colon.</summary>
    AfterKey,

    /// <summary>After the colon: the value starts with the next byte.</summary>
    BeforeValue,

    /// <summary>The value is being written above.</summary>
    InValue,

    /// <summary>After a value: a comma or the closing brace.</summary>
    AfterValue,
}

/// <summary>
/// Inside an object: <see cref="Next"/> is the first declared property still allowed (all of them once undeclared
/// ones began), <see cref="Current"/> the declared property being written (−1 for an undeclared one, whose value
/// schema is <see cref="Value"/>), <see cref="Count"/> the properties written (capped where counts stop mattering).
/// </summary>
internal sealed record ObjectFrame(ObjectNode Node, ObjectPhase Phase, int Next, int Current, int Count, GrammarNode? Value) : Frame;

internal enum ArrayPhase
{
    /// <summary>After <c>[</c>.</summary>
    AfterOpen,

    /// <summary>After a comma: an item must follow.</summary>
    AfterComma,

    /// <summary>An item is being written above.</summary>
    InValue,

    /// <summary>After an item.</summary>
    AfterValue,
}

/// <summary>Inside an array with <see cref="Count"/> items finished (capped where counts stop mattering).</summary>
internal sealed record ArrayFrame(ArrayNode Node, ArrayPhase Phase, int Count) : Frame;
