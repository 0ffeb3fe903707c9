using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A compiled schema bound to a tokenizer: the recognizer's states, interned and connected lazily by byte, and the
/// token masks computed from them. A state's mask is built from its top frames' local masks: what each frame allows
/// on its own whatever surrounds it (computed once per frame, by one depth-first pass over the tokenizer's trie that
/// skips a subtree as soon as its prefix is rejected; inside a string without character rules the plain tokens are
/// taken by their character count from precomputed bitsets and only the others walked), plus, for the few trie
/// nodes where the frame completes, the rest of those tokens checked against the real parent (XGrammar's
/// context-independent and context-dependent tokens). Masks are then kept per state, since the states of a document
/// repeat. Shared by every request with the same schema; thread-safe.
/// </summary>
/// <remarks>
/// What it learns is kept within <see cref="JsonConstraintOptions.MaxGrammarBytes"/> (an estimate of its states,
/// transitions, stacks and masks). Past that it is over its limit: it keeps answering, but computes what it would
/// have kept (masks, transitions, states) afresh each time, and its owner's cache drops it so the next request
/// starts a fresh grammar. Its growth is reported to the owner (<see cref="JsonConstraintCompiler"/>), whose cache
/// budget counts it.
/// </remarks>
internal sealed class CompiledGrammar
{
    /// <summary>Memory estimates: an interned state (object, stack array, key, table entry), a stack, a transition, a dense table.</summary>
    private const int StateBytes = 160, StackBytes = 96, TransitionBytes = 16, DenseBytes = 256 * 8 + 32, ResumedBytes = 64;

    private readonly object sync = new();
    private readonly JsonConstraintCompiler? owner;
    private readonly long maxBytes;
    private readonly long reportEvery;
    private readonly bool sharesFrames;
    private readonly JsonMachine machine;
    private readonly FrameStackTable stacks = new();
    private readonly Dictionary<(FrameStack?, ExitFrame), GrammarState> resumed = [];
    private readonly List<FrameStack> stepOutput = [];
    private readonly Dictionary<int[], GrammarState> states = new(IntArrayComparer.Instance);
    private long learntBytes, reportedBytes;
    private volatile bool overLimit;

    /// <summary>Binds a grammar to a tokenizer.</summary>
    /// <param name="root">The grammar.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="owner">The compiler whose shared frames it uses and whose cache counts it; null for a grammar of its own (tests).</param>
    /// <param name="baseBytes">Memory the grammar holds from the start (its automata).</param>
    /// <param name="sharesFrames">This is the owner's grammar of shared frames.</param>
    public CompiledGrammar(GrammarNode root, DbrxTokenizer tokenizer, JsonConstraintCompiler? owner = null, long baseBytes = 0, bool sharesFrames = false)
    {
        Root = root;
        Tokenizer = tokenizer;
        Trie = TokenTrie.For(tokenizer);
        this.owner = owner;
        this.sharesFrames = sharesFrames;
        maxBytes = owner?.Options.MaxGrammarBytes ?? new JsonConstraintOptions().MaxGrammarBytes;
        reportEvery = owner?.ReportGrowthEvery ?? long.MaxValue;
        learntBytes = baseBytes;
        machine = new JsonMachine(stacks);
        Start = Intern([machine.Start(root)]);
    }

    /// <summary>Memory held, in bytes (an estimate).</summary>
    public long EstimatedBytes => Volatile.Read(ref learntBytes) + (long)stacks.Count * StackBytes;

    /// <summary>The grammar holds more than its limit and keeps nothing more (see the remarks).</summary>
    public bool IsOverLimit => overLimit;

    public GrammarNode Root { get; }

    public DbrxTokenizer Tokenizer { get; }

    public TokenTrie Trie { get; }

    /// <summary>The state before the first byte.</summary>
    public GrammarState Start { get; }

    /// <summary>The state after one more byte (<see cref="GrammarState.Dead"/> when the byte is rejected).</summary>
    public GrammarState Step(GrammarState state, byte b) => state.KnownNext(b) ?? Compute(state, b);

    /// <summary>The state after some bytes.</summary>
    public GrammarState Step(GrammarState state, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (state.IsDead)
                break;
            state = Step(state, b);
        }
        return state;
    }

    private GrammarState Compute(GrammarState state, byte b)
    {
        lock (sync)
        {
            if (state.KnownNext(b) is { } known)
                return known;
            var next = stepOutput;
            next.Clear();
            foreach (FrameStack stack in state.Stacks)
                machine.Step(stack, b, next);
            GrammarState result = Intern(next);
            if (!overLimit)
            {
                bool wasDense = state.IsDense;
                state.SetNext(b, result);
                Grow(state.IsDense && !wasDense ? DenseBytes : TransitionBytes);
            }
            return result;
        }
    }

    private GrammarState Intern(List<FrameStack> next)
    {
        lock (sync)
        {
            if (next.Count == 0)
                return GrammarState.Dead;
            int[] key = Key(next);
            if (states.TryGetValue(key, out GrammarState? state))
                return state;
            var distinct = new FrameStack[key.Length];
            foreach (FrameStack stack in next)
                distinct[Array.BinarySearch(key, stack.Id)] = stack;
            state = new GrammarState(distinct);
            if (!overLimit)
            {
                // Over the limit, a state is used and forgotten: correct, only not remembered.
                states[key] = state;
                Grow(StateBytes + 12L * key.Length);
            }
            state.Continuing = state.Exits.Length == 0 ? state : Intern([.. distinct.Where(s => s.Top is not ExitFrame)]);
            return state;
        }
    }

    /// <summary>The sorted, distinct ids of the stacks: a state's identity.</summary>
    private static int[] Key(List<FrameStack> stacks)
    {
        if (stacks.Count == 1)
            return [stacks[0].Id];
        var ids = new int[stacks.Count];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = stacks[i].Id;
        Array.Sort(ids);
        int distinct = 1;
        for (int i = 1; i < ids.Length; i++)
        {
            if (ids[i] != ids[distinct - 1])
                ids[distinct++] = ids[i];
        }
        return distinct == ids.Length ? ids : ids[..distinct];
    }

    /// <summary>
    /// Writes the tokens allowed from <paramref name="state"/> into <paramref name="mask"/>, each of which leaves a
    /// document that can still be closed in <paramref name="budget"/> more tokens; <paramref name="planToken"/>
    /// (the next token of a completion known to fit) is always allowed, so the mask is never empty.
    /// </summary>
    public void FillMask(GrammarState state, Span<ulong> mask, int budget, Func<int> planToken)
    {
        CachedMask cached = state.Mask ?? Remember(state);
        if (cached.MaxCloseBytesAfter <= budget)
        {
            cached.CopyTo(mask, Trie.VocabularySize);
            return;
        }
        // Near the end of the budget: each token is kept only if its state can still be closed in time.
        Walk(state, mask, 1, Trie.NodeCount, budget);
        TokenBits.Set(mask, planToken());
    }

    /// <summary>Scratch bitsets (masks are composed recursively: one per level in use), so composing allocates little.</summary>
    [ThreadStatic]
    private static Stack<ulong[]>? scratch;

    private ulong[] RentBits()
    {
        scratch ??= new Stack<ulong[]>();
        return scratch.TryPop(out ulong[]? bits) && bits.Length == Trie.Words ? bits : new ulong[Trie.Words];
    }

    private static void ReturnBits(ulong[] bits) => scratch!.Push(bits);

    private CachedMask Remember(GrammarState state)
    {
        ulong[] bits = RentBits();
        int maxClose = Compose(state, bits);
        var cached = new CachedMask(bits, maxClose, Trie.VocabularySize);
        ReturnBits(bits);
        if (Keep(cached.Size))
            state.Mask = cached;
        return cached;
    }

    /// <summary>Whether a mask of <paramref name="size"/> bytes may be kept, counting it if so.</summary>
    private bool Keep(int size)
    {
        lock (sync)
        {
            if (overLimit)
                return false;
            Grow(size);
            return !overLimit;
        }
    }

    /// <summary>Counts memory the grammar keeps; past its limit it keeps nothing more. Callers hold the lock.</summary>
    private void Grow(long size)
    {
        learntBytes += size;
        if (EstimatedBytes > maxBytes)
            overLimit = true;
        if (learntBytes - reportedBytes >= reportEvery || overLimit)
        {
            reportedBytes = learntBytes;
            // The owner measures its cache (without taking any grammar's lock) and may drop this grammar from it.
            owner?.GrammarGrew();
        }
    }

    /// <summary>
    /// A state's mask from its stacks: each top frame's local mask, and at each node where that frame completes,
    /// the rest of the trie below it walked from the real parent. Returns the most bytes an allowed token leaves.
    /// </summary>
    private int Compose(GrammarState state, Span<ulong> mask)
    {
        mask.Clear();
        int maxClose = 0;
        int[] end = Trie.SubtreeEnd, token = Trie.Token;
        foreach (FrameStack stack in state.Stacks)
        {
            if (stack.Top is DoneFrame)
                continue;
            LocalMask local = LocalMaskOf(stack.Top);
            local.Inside.OrInto(mask);
            maxClose = Math.Max(maxClose, Saturate((long)local.Inside.MaxCloseBytesAfter + (stack.Parent?.CloseBytesAsParent ?? 0)));
            foreach (var (exit, tokens) in local.ExitsBeforeFirstByte)
            {
                // The frame ends before the token: the parent's own mask, for the tokens starting with those bytes.
                GrammarState parent = Resume(stack.Parent, exit);
                if (parent.IsDead || parent.IsDone)
                    continue;
                CachedMask parentMask = parent.Mask ?? Remember(parent);
                parentMask.OrInto(mask, tokens);
                maxClose = Math.Max(maxClose, parentMask.MaxCloseBytesAfter);
            }
            // Exits come in runs of the same one (a number's `1,` `1}` `1]`...): resumed once per run.
            ExitFrame? lastExit = null;
            GrammarState after = GrammarState.Dead;
            foreach (var (node, exit) in local.Exits)
            {
                if (!ReferenceEquals(exit, lastExit))
                    (lastExit, after) = (exit, Resume(stack.Parent, exit));
                if (after.IsDead)
                    continue;
                if (!exit.Consumed)
                {
                    // The byte of this node already belongs to the parent; most such nodes end one token and nothing longer.
                    maxClose = Math.Max(maxClose, node + 1 == end[node] ? StepLeaf(after, mask, node) : Walk(after, mask, node, end[node], int.MaxValue));
                    continue;
                }
                if (token[node] >= 0)
                {
                    TokenBits.Set(mask, token[node]);
                    maxClose = Math.Max(maxClose, after.CloseBytes);
                }
                if (!after.IsDone && node + 1 < end[node])
                    maxClose = Math.Max(maxClose, Walk(after, mask, node + 1, end[node], int.MaxValue));
            }
        }
        return maxClose;
    }

    private static int Saturate(long value) => (int)Math.Min(value, GrammarNode.Never);

    /// <summary><see cref="Walk"/> for a trie node without children: one step from the state above it.</summary>
    private int StepLeaf(GrammarState parent, Span<ulong> mask, int node)
    {
        byte b = Trie.Label[node];
        int id = Trie.Token[node];
        if (id < 0 || !parent.NextBytes.Contains(b))
            return 0;
        GrammarState next = Step(parent, b);
        if (next.IsDead)
            return 0;
        TokenBits.Set(mask, id);
        return next.CloseBytes;
    }

    /// <summary>The state after a frame completed over a real parent.</summary>
    private GrammarState Resume(FrameStack? parent, ExitFrame exit)
    {
        lock (sync)
        {
            if (!resumed.TryGetValue((parent, exit), out GrammarState? state))
            {
                var next = new List<FrameStack>();
                machine.Resume(parent, exit, next);
                state = Intern(next);
                if (!overLimit)
                {
                    resumed[(parent, exit)] = state;
                    Grow(ResumedBytes);
                }
            }
            return state;
        }
    }

    /// <summary>What a frame allows on its own (computed once per frame and grammar; for shared frames, once per owner).</summary>
    private LocalMask LocalMaskOf(Frame top)
    {
        if (top is StringFrame { Node.KeyValues: null } or NumberFrame or KeyFrame && !sharesFrames && owner is not null)
            return owner.SharedFrames.LocalMaskOf(top);
        GrammarState local = Intern([machine.Local(top)]);
        if (local.Local is { } known)
            return known;
        ulong[] bits = RentBits();
        Array.Clear(bits);
        var exits = new List<(int Node, ExitFrame Exit)>();
        int maxClose = LocalWalk(local, bits, exits);
        var firstBytes = new Dictionary<ExitFrame, ByteSet>();
        foreach (var (node, exit) in exits)
        {
            if (!exit.Consumed && Trie.Depth[node] == 1)
                CollectionsMarshal.GetValueRefOrAddDefault(firstBytes, exit, out _).Add(Trie.Label[node]);
        }
        exits.RemoveAll(e => !e.Exit.Consumed && Trie.Depth[e.Node] == 1);
        var beforeFirstByte = firstBytes.ToDictionary(e => e.Key, e => Trie.TokensStartingWith(e.Value));
        var mask = new LocalMask(new CachedMask(bits, maxClose, Trie.VocabularySize), exits, beforeFirstByte);
        ReturnBits(bits);
        if (Keep(mask.Size))
            local.Local = mask;
        return mask;
    }

    /// <summary>
    /// The depth-first pass for a frame on its own: tokens that stay inside it go into <paramref name="mask"/>;
    /// nodes where it completes go into <paramref name="exits"/> (their subtrees are the parent's to check).
    /// </summary>
    private int LocalWalk(GrammarState start, Span<ulong> mask, List<(int, ExitFrame)> exits)
    {
        TokenTrie trie = Trie;
        int maxClose = 0;
        bool onlyOthers = false;
        if (PlainTokenRoom(start) is var (room, close))
        {
            // Inside a string that takes any plain character: plain tokens by their character count, the rest walked.
            onlyOthers = true;
            TokenBits.Or(mask, trie.PlainByChars[Math.Min(room, trie.PlainByChars.Length - 1)]);
            maxClose = close;
        }
        byte[] label = trie.Label;
        int[] token = trie.Token, depth = trie.Depth, end = trie.SubtreeEnd;
        bool[] needsVisit = trie.NeedsVisitInString;
        GrammarState[] path = ArrayPool<GrammarState>.Shared.Rent(trie.MaxDepth + 1);
        try
        {
            path[0] = start;
            int count = trie.NodeCount;
            for (int i = 1; i < count;)
            {
                if (onlyOthers && !needsVisit[i])
                {
                    i = end[i];
                    continue;
                }
                GrammarState parent = path[depth[i] - 1];
                if (!parent.NextBytes.Contains(label[i]))
                {
                    i = end[i];
                    continue;
                }
                GrammarState next = parent.KnownNext(label[i]) ?? Compute(parent, label[i]);
                foreach (ExitFrame exit in next.Exits)
                    exits.Add((i, exit));
                next = next.Continuing;
                if (next.IsDead)
                {
                    i = end[i];
                    continue;
                }
                int id = token[i];
                if (id >= 0)
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                    maxClose = Math.Max(maxClose, next.CloseBytes);
                }
                path[depth[i]] = next;
                i++;
            }
        }
        finally
        {
            ArrayPool<GrammarState>.Shared.Return(path, clearArray: true);
        }
        return maxClose;
    }

    /// <summary>
    /// The depth-first pass over the trie nodes [<paramref name="from"/>, <paramref name="to"/>) (one node's
    /// subtree, or all), starting from <paramref name="start"/> as the state above <paramref name="from"/>.
    /// Returns the most bytes an allowed token leaves to close the document. With a finite
    /// <paramref name="budget"/> a token is allowed only if its state closes within it.
    /// </summary>
    private int Walk(GrammarState start, Span<ulong> mask, int from, int to, int budget)
    {
        bool limited = budget != int.MaxValue;
        if (limited)
            mask.Clear();
        TokenTrie trie = Trie;
        int maxClose = 0;
        byte[] label = trie.Label;
        int[] token = trie.Token, depth = trie.Depth, end = trie.SubtreeEnd;
        int baseDepth = depth[from] - 1;
        GrammarState[] path = ArrayPool<GrammarState>.Shared.Rent(trie.MaxDepth + 1);
        try
        {
            path[baseDepth] = start;
            for (int i = from; i < to;)
            {
                GrammarState parent = path[depth[i] - 1];
                if (!parent.NextBytes.Contains(label[i]))
                {
                    i = end[i];
                    continue;
                }
                GrammarState next = parent.KnownNext(label[i]) ?? Compute(parent, label[i]);
                if (next.IsDead)
                {
                    i = end[i];
                    continue;
                }
                int id = token[i];
                if (id >= 0)
                {
                    int close = next.CloseBytes;
                    if (!limited)
                    {
                        mask[id >> 6] |= 1UL << (id & 63);
                        maxClose = Math.Max(maxClose, close);
                    }
                    else if (close <= budget || CloseTokens(next).Length <= budget)
                    {
                        mask[id >> 6] |= 1UL << (id & 63);
                    }
                }
                if (next.IsDone)
                {
                    i = end[i];
                    continue;
                }
                path[depth[i]] = next;
                i++;
            }
        }
        finally
        {
            ArrayPool<GrammarState>.Shared.Return(path, clearArray: true);
        }
        return maxClose;
    }

    /// <summary>
    /// For a state that is one string between characters, which no plain character can make fail (no character
    /// rules, or an automaton state that takes them all): how many more characters it may take, and the most bytes a
    /// plain token can leave to close it. Null for any other state.
    /// </summary>
    private (int Room, int MaxClose)? PlainTokenRoom(GrammarState state)
    {
        if (state.Stacks is not [{ Top: StringFrame { Decoder.Kind: DecoderKind.Ready } text }])
            return null;
        if (text.Node.Dfa is not { } dfa)
            return (text.Node.MaxLength is { } max ? max - text.Count : int.MaxValue, state.CloseBytes);
        if (text.Node.Lengths is not null)
            return null;
        var (total, maxCompletion) = dfa.TotalStates(Trie.PlainCodePoints);
        return total[text.State] ? (int.MaxValue, maxCompletion + 1) : null;
    }

    /// <summary>The tokens of the shortest completion from a state (its tokenization; leading UTF-8 continuation bytes one token each).</summary>
    public int[] CloseTokens(GrammarState state)
    {
        if (state.CloseTokens is { } known)
            return known;
        var bytes = new List<byte>();
        JsonMachine.AppendCompletion(state.ShortestStack, bytes);
        int lead = 0;
        while (lead < bytes.Count && bytes[lead] is >= 0x80 and < 0xC0)
            lead++;
        var tokens = new List<int>();
        for (int i = 0; i < lead; i++)
            tokens.Add(Trie.ByteToken[bytes[i]]);
        if (lead < bytes.Count)
            tokens.AddRange(Tokenizer.Encode(Encoding.UTF8.GetString(bytes.GetRange(lead, bytes.Count - lead).ToArray())));
        int[] result = [.. tokens];
        state.CloseTokens = result;
        return result;
    }

    /// <summary>Interned states so far (for diagnostics and tests).</summary>
    public int StateCount
    {
        get
        {
            lock (sync)
                return states.Count;
        }
    }
}
