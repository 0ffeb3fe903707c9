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

/// <summary>
/// A state's token mask as computed without a budget, with the largest number of bytes any allowed token leaves to
/// close the document: when the budget covers that, the mask needs no further check. Stored as the id list when
/// short, the complement's when nearly everything is allowed, else as a bitset.
/// </summary>
internal sealed class CachedMask
{
    private readonly ulong[]? bits;
    private readonly int[]? ids;
    private readonly bool complement;

    private readonly int vocabularySize, vocabularyWords;

    public CachedMask(ulong[] mask, int maxCloseBytesAfter, int vocabularySize)
    {
        MaxCloseBytesAfter = maxCloseBytesAfter;
        this.vocabularySize = vocabularySize;
        vocabularyWords = (vocabularySize + 63) / 64;
        int allowed = TokenBits.Count(mask);
        int size = mask.Length * 64;
        // 64 ids cost as much as a word: use the smallest form.
        if (allowed * 2 < mask.Length)
            ids = TokenBits.Ids(mask, set: true);
        else if ((size - allowed) * 2 < mask.Length)
        {
            ids = TokenBits.Ids(mask, set: false);
            complement = true;
        }
        else
            bits = (ulong[])mask.Clone();
    }

    public int MaxCloseBytesAfter { get; }

    /// <summary>Bytes held.</summary>
    public int Size => bits is not null ? bits.Length * 8 : ids!.Length * 4;

    /// <summary>Sets the mask's tokens in <paramref name="target"/>, leaving the others as they are.</summary>
    public void OrInto(Span<ulong> target)
    {
        if (bits is not null)
        {
            TokenBits.Or(target, bits);
        }
        else if (complement)
        {
            // Every id but the listed ones (sorted), word by word.
            int next = 0;
            for (int w = 0; w < Math.Min(target.Length, vocabularyWords); w++)
                target[w] |= ~ExcludedIn(w, ref next) & WordMask(w);
        }
        else
        {
            foreach (int id in ids!)
                target[id >> 6] |= 1UL << (id & 63);
        }
    }

    /// <summary>Sets the mask's tokens that are also in <paramref name="filter"/> in <paramref name="target"/>.</summary>
    public void OrInto(Span<ulong> target, ReadOnlySpan<ulong> filter)
    {
        int words = Math.Min(target.Length, Math.Min(filter.Length, vocabularyWords));
        if (bits is not null)
        {
            for (int w = 0; w < words; w++)
                target[w] |= bits[w] & filter[w];
        }
        else if (complement)
        {
            int next = 0;
            for (int w = 0; w < words; w++)
                target[w] |= ~ExcludedIn(w, ref next) & WordMask(w) & filter[w];
        }
        else
        {
            foreach (int id in ids!)
            {
                if (TokenBits.Get(filter, id))
                    target[id >> 6] |= 1UL << (id & 63);
            }
        }
    }

    /// <summary>The listed ids in word <paramref name="w"/>, reading the sorted list on from <paramref name="next"/>.</summary>
    private ulong ExcludedIn(int w, ref int next)
    {
        ulong word = 0;
        for (; next < ids!.Length && ids[next] >> 6 == w; next++)
            word |= 1UL << (ids[next] & 63);
        return word;
    }

    /// <summary>The bits of word <paramref name="w"/> that are ids below the vocabulary size.</summary>
    private ulong WordMask(int w) => (w + 1) * 64 <= vocabularySize ? ulong.MaxValue : (1UL << (vocabularySize - w * 64)) - 1;

    /// <summary>Writes the mask into <paramref name="target"/> (every word of it).</summary>
    public void CopyTo(Span<ulong> target, int vocabularySize)
    {
        if (bits is not null)
        {
            target.Clear();
            bits.AsSpan(0, Math.Min(bits.Length, target.Length)).CopyTo(target);
            return;
        }
        if (complement)
        {
            TokenBits.SetAll(target, Math.Min(vocabularySize, target.Length * 64));
            foreach (int id in ids!)
                target[id >> 6] &= ~(1UL << (id & 63));
        }
        else
        {
            target.Clear();
            foreach (int id in ids!)
                target[id >> 6] |= 1UL << (id & 63);
        }
    }
}

/// <summary>
/// What one frame allows on its own, whatever its parent (XGrammar's context-independent tokens): the tokens that
/// stay inside it, and the trie nodes where it completes (<see cref="Exits"/>), from which the rest of a token
/// belongs to the parent and is checked there. Where it completes before a token's first byte (a number ends), the
/// parent's own mask decides all tokens starting with that byte: <see cref="ExitsBeforeFirstByte"/> holds those
/// tokens by exit. Shared by every state whose top frame this is.
/// </summary>
internal sealed class LocalMask(CachedMask inside, List<(int Node, ExitFrame Exit)> exits, Dictionary<ExitFrame, ulong[]> exitsBeforeFirstByte)
{
    /// <summary>Tokens that stay inside the frame, and the most bytes they leave to complete it.</summary>
    public CachedMask Inside { get; } = inside;

    /// <summary>Trie nodes (below the first byte) at which the frame completes, with how.</summary>
    public List<(int Node, ExitFrame Exit)> Exits { get; } = exits;

    /// <summary>Exits before a token's first byte: the tokens the parent's mask decides.</summary>
    public Dictionary<ExitFrame, ulong[]> ExitsBeforeFirstByte { get; } = exitsBeforeFirstByte;

    /// <summary>Bytes held (the token sets of <see cref="ExitsBeforeFirstByte"/> are the trie's, shared).</summary>
    public int Size => Inside.Size + Exits.Count * 16 + ExitsBeforeFirstByte.Count * 16;
}
