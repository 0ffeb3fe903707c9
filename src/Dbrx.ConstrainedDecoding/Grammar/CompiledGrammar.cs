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
internal sealed partial class CompiledGrammar
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
