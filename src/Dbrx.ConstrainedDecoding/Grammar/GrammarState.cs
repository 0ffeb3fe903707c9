namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A state of the recognizer between two bytes: the set of stacks still alive (several while alternatives share a
/// prefix). Interned per grammar (<see cref="CompiledGrammar"/>), so a state reached again is the same object and
/// keeps what was learnt about it: its transitions by byte, its token mask, the tokens of its shortest completion.
/// </summary>
internal sealed class GrammarState
{
    /// <summary>The state no byte leads out of (every byte was rejected).</summary>
    public static readonly GrammarState Dead = new([]);

    // Transitions: a few in a small list (most states see few distinct bytes), all 256 once there are more.
    private byte[]? sparseBytes;
    private GrammarState?[]? sparseStates;
    private int sparseCount;
    private GrammarState?[]? dense;
    private int closeBytes = -1;
    private GrammarState? continuing;

    public GrammarState(FrameStack[] stacks)
    {
        Stacks = stacks;
        bool done = stacks.Length > 0, complete = false;
        int exits = 0;
        var next = new ByteSet();
        foreach (FrameStack stack in stacks)
        {
            next.UnionWith(JsonMachine.NextBytes(stack));
            done &= JsonMachine.IsDone(stack);
            complete |= JsonMachine.IsComplete(stack);
            exits += stack.Top is ExitFrame ? 1 : 0;
        }
        IsDone = done;
        IsComplete = complete;
        NextBytes = next;
        Exits = exits == 0 ? [] : [.. stacks.Select(s => s.Top).OfType<ExitFrame>()];
    }

    /// <summary>The bytes that may follow (a superset): the others are rejected without stepping.</summary>
    public ByteSet NextBytes { get; }

    /// <summary>In a local walk (a frame stepped on its own): the ways the frame has just completed.</summary>
    public ExitFrame[] Exits { get; }

    /// <summary>This state without its exits (the stacks still inside the frame); itself when there are none.</summary>
    public GrammarState Continuing
    {
        get => continuing ?? this;
        set => continuing = value;
    }

    /// <summary>The live stacks, ordered by id.</summary>
    public FrameStack[] Stacks { get; }

    public bool IsDead => Stacks.Length == 0;

    /// <summary>Every stack is finished: no byte can follow.</summary>
    public bool IsDone { get; }

    /// <summary>The bytes so far form a whole document.</summary>
    public bool IsComplete { get; }

    /// <summary>Bytes of the shortest completion: the least over the stacks.</summary>
    public int CloseBytes
    {
        get
        {
            if (closeBytes < 0)
                closeBytes = Stacks.Length == 0 ? GrammarNode.Never : Stacks.Min(s => s.CloseBytes);
            return closeBytes;
        }
    }

    /// <summary>The stack whose completion is the shortest.</summary>
    public FrameStack ShortestStack => Stacks.MinBy(s => s.CloseBytes)!;

    /// <summary>For the state of a frame stepped on its own: its local mask, once computed.</summary>
    public LocalMask? Local { get; set; }

    /// <summary>The mask computed for this state, once (see <see cref="CompiledGrammar"/>).</summary>
    public CachedMask? Mask { get; set; }

    /// <summary>The tokens of the shortest completion, once computed.</summary>
    public int[]? CloseTokens { get; set; }

    /// <summary>Whether the transitions are kept in a table of all 256 bytes (past a few distinct bytes).</summary>
    public bool IsDense => dense is not null;

    /// <summary>The transition on a byte if already known (null otherwise).</summary>
    public GrammarState? KnownNext(byte b)
    {
        if (dense is { } all)
            return all[b];
        byte[]? bytes = sparseBytes;
        GrammarState?[]? targets = sparseStates;
        if (bytes is null || targets is null)
            return null;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == b && targets[i] is { } known)
                return known;
        }
        return null;
    }

    /// <summary>Records a transition. Callers hold the grammar's lock (readers may run alongside: each write is published whole).</summary>
    public void SetNext(byte b, GrammarState state)
    {
        if (dense is { } all)
        {
            all[b] = state;
            return;
        }
        if (sparseCount == 8)
        {
            var table = new GrammarState?[256];
            for (int i = 0; i < sparseCount; i++)
                table[sparseBytes![i]] = sparseStates![i];
            table[b] = state;
            dense = table;
            return;
        }
        // Copy on write, so a reader never sees a byte without its state.
        var bytes = new byte[sparseCount + 1];
        var targets = new GrammarState?[sparseCount + 1];
        if (sparseCount > 0)
        {
            sparseBytes.AsSpan().CopyTo(bytes);
            sparseStates.AsSpan().CopyTo(targets);
        }
        bytes[sparseCount] = b;
        targets[sparseCount] = state;
        sparseStates = targets;
        sparseBytes = bytes;
        sparseCount++;
    }
}
