using System.Buffers;
using System.Runtime.InteropServices;

namespace Dbrx.ConstrainedDecoding;

// Token masks: a state's mask composed from its top frames' local masks (computed once per frame by a walk over the
// token trie) and, where a frame completes, the rest of the trie checked against the real parent; kept per state
// as a CachedMask. Near the end of the token budget, a walk that keeps only the tokens whose state can still close in
// time.
internal sealed partial class CompiledGrammar
{
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
}
