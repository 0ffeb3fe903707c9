namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A compiled schema: the values one position of the output allows, as compact JSON bytes. Nodes form a graph
/// (recursive schemas point back through <see cref="ChoiceNode"/>s). <see cref="MinBytes"/> is the length of the
/// shortest value the node allows (<see cref="Never"/> when it allows none, which stepping then never enters), found
/// by a fixed point over the graph once it is built (<see cref="GrammarLengths"/>).
/// </summary>
internal abstract class GrammarNode
{
    /// <summary>Stands for "no value" (or not known yet): small enough to add to without overflow.</summary>
    public const int Never = int.MaxValue / 4;

    /// <summary>Bytes of the shortest value (filled in once the graph is complete).</summary>
    public int MinBytes { get; set; } = Never;

    /// <summary>Whether some value is allowed.</summary>
    public bool IsPossible => MinBytes < Never;

    /// <summary>The shortest length from the children's current estimates; iterated to a fixed point.</summary>
    public abstract int ComputeMinBytes();

    /// <summary>Appends the shortest value (once <see cref="MinBytes"/> is final).</summary>
    public abstract void AppendShortest(List<byte> output);

    /// <summary>The nodes this one refers to.</summary>
    public abstract IEnumerable<GrammarNode> Children { get; }

    private ByteSet? firstBytes;
    private bool computingFirstBytes;

    /// <summary>The bytes a value may start with (a superset: walks skip the other bytes without stepping).</summary>
    public ByteSet FirstBytes
    {
        get
        {
            if (firstBytes is { } known)
                return known;
            // A choice that reaches itself before any byte: be conservative.
            if (computingFirstBytes)
                return ByteSet.All;
            computingFirstBytes = true;
            ByteSet computed = ComputeFirstBytes();
            computingFirstBytes = false;
            firstBytes = computed;
            return computed;
        }
    }

    protected abstract ByteSet ComputeFirstBytes();

    protected static int Saturate(long value) => (int)Math.Min(value, Never);
}

/// <summary>One of several nodes: anyOf, a type list, an exclusive oneOf, or a placeholder for a recursive reference.</summary>
internal sealed class ChoiceNode : GrammarNode
{
    public List<GrammarNode> Options { get; } = [];

    public override IEnumerable<GrammarNode> Children => Options;

    public override int ComputeMinBytes() => Options.Count == 0 ? Never : Options.Min(o => o.MinBytes);

    public override void AppendShortest(List<byte> output) => Options.First(o => o.MinBytes == MinBytes).AppendShortest(output);

    protected override ByteSet ComputeFirstBytes()
    {
        var set = new ByteSet();
        foreach (GrammarNode option in Options)
        {
            if (option.IsPossible)
                set.UnionWith(option.FirstBytes);
        }
        return set;
    }
}

/// <summary>
/// Exact JSON texts (enum, const, true, false, null), as compact UTF-8, in a byte trie: a state is a trie node.
/// </summary>
internal sealed class LiteralNode : GrammarNode
{
    private readonly List<Dictionary<byte, int>> children = [[]];
    private readonly List<bool> terminal = [false];
    private readonly List<int> shortestBelow = [];

    public LiteralNode(IReadOnlyList<byte[]> texts)
    {
        foreach (byte[] text in texts)
        {
            int node = 0;
            foreach (byte b in text)
            {
                if (!children[node].TryGetValue(b, out int next))
                {
                    children[node][b] = next = children.Count;
                    children.Add([]);
                    terminal.Add(false);
                }
                node = next;
            }
            terminal[node] = true;
        }
        // Bytes still needed from each trie node to a whole text; children come after their parents.
        shortestBelow.AddRange(Enumerable.Repeat(Never, children.Count));
        for (int node = children.Count - 1; node >= 0; node--)
            shortestBelow[node] = terminal[node] ? 0 : children[node].Values.Select(c => shortestBelow[c] + 1).DefaultIfEmpty(Never).Min();
        Texts = texts;
    }

    public IReadOnlyList<byte[]> Texts { get; }

    public override IEnumerable<GrammarNode> Children => [];

    /// <summary>The trie node after one more byte from <paramref name="node"/>, or −1.</summary>
    public int Step(int node, byte b) => children[node].TryGetValue(b, out int next) ? next : -1;

    /// <summary>Whether a whole text ends at the trie node.</summary>
    public bool IsTerminal(int node) => terminal[node];

    /// <summary>Whether a longer text continues past the trie node.</summary>
    public bool HasContinuation(int node) => children[node].Count > 0;

    public int RemainingBytes(int node) => shortestBelow[node];

    /// <summary>Appends the shortest bytes that finish a text from the trie node.</summary>
    public void AppendRest(int node, List<byte> output)
    {
        while (!terminal[node])
        {
            var (b, next) = children[node].First(c => shortestBelow[c.Value] == shortestBelow[node] - 1);
            output.Add(b);
            node = next;
        }
    }

    public override int ComputeMinBytes() => shortestBelow[0];

    protected override ByteSet ComputeFirstBytes() => NextBytes(0);

    /// <summary>The bytes that continue a text from the trie node.</summary>
    public ByteSet NextBytes(int node)
    {
        var set = new ByteSet();
        foreach (byte b in children[node].Keys)
            set.Add(b);
        return set;
    }

    public override void AppendShortest(List<byte> output) => AppendRest(0, output);
}

/// <summary>
/// A string. Its characters follow <see cref="Dfa"/> (patterns, format), or, when there is none, any characters;
/// <see cref="MinLength"/> to <see cref="MaxLength"/> of them, counted beside the automaton (<see cref="Lengths"/>)
/// or alone. Object keys that are not declared are strings too, whose automaton's accepting states say which value
/// schema follows (<see cref="KeyValues"/>).
/// </summary>
internal sealed class StringNode : GrammarNode
{
    /// <summary>A string node; its table of lengths (with an automaton and bounds) is counted against <paramref name="budget"/>.</summary>
    public StringNode(CharDfa? dfa, int minLength, int? maxLength, SchemaCompileBudget budget)
    {
        Dfa = dfa;
        MinLength = minLength;
        MaxLength = maxLength;
        if (dfa is not null && (minLength > 0 || maxLength is not null))
            Lengths = new StringLengths(dfa, minLength, maxLength, budget);
    }

    /// <summary>A string of any length over an automaton (an object's keys).</summary>
    public StringNode(CharDfa dfa)
        : this(dfa, 0, null, SchemaCompileBudget.Unlimited)
    {
    }

    public CharDfa? Dfa { get; }

    public int MinLength { get; }

    public int? MaxLength { get; }

    /// <summary>With an automaton and length bounds: which lengths each state can still reach.</summary>
    public StringLengths? Lengths { get; }

    /// <summary>Character counts at or above this behave alike (the bound that matters), so states stay few.</summary>
    public int CountCap => MaxLength ?? MinLength;

    /// <summary>For keys: the value node after each accepting state of <see cref="Dfa"/> (null elsewhere).</summary>
    public GrammarNode?[]? KeyValues { get; set; }

    public override IEnumerable<GrammarNode> Children => KeyValues?.OfType<GrammarNode>() ?? [];

    /// <summary>For keys: the longest shortest value any key calls for.</summary>
    public int MaxValueBytes => KeyValues?.Where(v => v is { IsPossible: true }).Select(v => v!.MinBytes).DefaultIfEmpty(0).Max() ?? 0;

    protected override ByteSet ComputeFirstBytes() => ByteSet.Of('"');

    public override int ComputeMinBytes()
    {
        if (MaxLength < MinLength || Dfa is { Start: < 0 } || Lengths is { } lengths && !lengths.Viable(Dfa!.Start, 0))
            return Never;
        var text = new List<byte>();
        AppendShortest(text);
        return text.Count;
    }

    public override void AppendShortest(List<byte> output)
    {
        output.Add((byte)'"');
        StringText.AppendRest(new StringFrame(this, Dfa?.Start ?? 0, 0, StringDecoder.Ready), output);
        output.Add((byte)'"');
    }
}

/// <summary>A number, by the automaton of its text (<see cref="NumberAutomaton"/>).</summary>
internal sealed class NumberNode(CharDfa dfa) : GrammarNode
{
    public CharDfa Dfa { get; } = dfa;

    public override IEnumerable<GrammarNode> Children => [];

    public override int ComputeMinBytes() => Dfa.Start < 0 ? Never : Dfa.CompletionBytes(Dfa.Start);

    protected override ByteSet ComputeFirstBytes() => NextBytes(Dfa.Start);

    /// <summary>The bytes that continue the number from a state of its automaton.</summary>
    public ByteSet NextBytes(int state)
    {
        var set = new ByteSet();
        foreach (var (lo, hi, _) in Dfa.Transitions(state))
            set.AddRange(lo, hi);
        return set;
    }

    public override void AppendShortest(List<byte> output)
    {
        for (int state = Dfa.Start; !Dfa.IsAccepting(state);)
        {
            var (b, next) = Dfa.ShortestStep(state);
            output.Add((byte)b);
            state = next;
        }
    }
}

/// <summary>An array: <see cref="PrefixItems"/> first, then <see cref="Items"/> (null: no more), counted.</summary>
internal sealed class ArrayNode(IReadOnlyList<GrammarNode> prefixItems, GrammarNode? items, int minItems, int? maxItems) : GrammarNode
{
    public IReadOnlyList<GrammarNode> PrefixItems { get; } = prefixItems;

    public GrammarNode? Items { get; } = items;

    public int MinItems { get; } = minItems;

    /// <summary>The most items: maxItems, and the prefix length when nothing may follow it.</summary>
    public int? MaxItems { get; } = items is null ? Math.Min(maxItems ?? int.MaxValue, prefixItems.Count) : maxItems;

    /// <summary>Counts at or above this behave alike.</summary>
    public int CountCap => Math.Max(Math.Max(MinItems, PrefixItems.Count), MaxItems ?? 0);

    public override IEnumerable<GrammarNode> Children => Items is null ? PrefixItems : PrefixItems.Append(Items);

    /// <summary>The schema of item number <paramref name="index"/>, or null when no item may stand there.</summary>
    public GrammarNode? ItemAt(int index) => index < PrefixItems.Count ? PrefixItems[index] : Items;

    /// <summary>Whether another item may follow <paramref name="count"/> items.</summary>
    public bool CanAdd(int count) => (MaxItems is null || count < MaxItems) && ItemAt(count) is { IsPossible: true };

    /// <summary>Bytes that close the array after <paramref name="count"/> items at the least: the items still required, commas, the bracket.</summary>
    public int RestAfter(int count)
    {
        long total = 1;
        for (int i = count; i < MinItems; i++)
            total += (ItemAt(i)?.MinBytes ?? Never) + (i > 0 ? 1 : 0);
        return Saturate(total);
    }

    public void AppendRest(int count, List<byte> output)
    {
        for (int i = count; i < MinItems; i++)
        {
            if (i > 0)
                output.Add((byte)',');
            ItemAt(i)!.AppendShortest(output);
        }
        output.Add((byte)']');
    }

    public override int ComputeMinBytes() => MaxItems < MinItems ? Never : Saturate(1L + RestAfter(0));

    protected override ByteSet ComputeFirstBytes() => ByteSet.Of('[');

    public override void AppendShortest(List<byte> output)
    {
        output.Add((byte)'[');
        AppendRest(0, output);
    }
}
