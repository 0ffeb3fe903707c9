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

/// <summary>
/// Inside an object: <see cref="Next"/> is the first declared property still allowed (all of them once undeclared
/// ones began), <see cref="Current"/> the declared property being written (−1 for an undeclared one, whose value
/// schema is <see cref="Value"/>), <see cref="Count"/> the properties written (capped where counts stop mattering).
/// </summary>
internal sealed record ObjectFrame(ObjectNode Node, ObjectPhase Phase, int Next, int Current, int Count, GrammarNode? Value) : Frame;

/// <summary>Inside an array with <see cref="Count"/> items finished (capped where counts stop mattering).</summary>
internal sealed record ArrayFrame(ArrayNode Node, ArrayPhase Phase, int Count) : Frame;
