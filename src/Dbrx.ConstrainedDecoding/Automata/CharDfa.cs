namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A deterministic automaton over code points, built whole at compile time: the character-level part of a string's
/// constraints (its <c>pattern</c>s, <c>format</c>, and with them its length bounds; or an object's key rules).
/// States from which no accepting state can be reached are removed, so every state <see cref="Step"/> returns can
/// still be finished, and <see cref="MinToAccept"/> says in how many characters at the least.
/// </summary>
internal sealed class CharDfa
{
    /// <summary>States a single automaton may have; beyond it compilation fails (with the pattern named by the caller).</summary>
    public const int MaxStates = 60_000;

    public const int Unreachable = int.MaxValue / 4;

    /// <summary>Memory of a state (its arrays' entries and headers), for <see cref="EstimatedBytes"/>.</summary>
    public const int BytesPerState = 96;

    /// <summary>Memory of a transition (a range and its target).</summary>
    public const int BytesPerTransition = 16;

    private readonly (int Lo, int Hi, int Target)[][] edges;
    private readonly bool[] accepting;
    private readonly int[] distance;
    private readonly int[] shortestChar;
    private readonly int[] shortestTarget;
    private readonly int[] completionBytes;

    private CharDfa((int Lo, int Hi, int Target)[][] edges, bool[] accepting, int start, int[][]? components)
    {
        this.edges = edges;
        this.accepting = accepting;
        Components = components;
        int n = edges.Length;
        distance = Distances(edges, accepting);
        shortestChar = new int[n];
        shortestTarget = new int[n];
        for (int s = 0; s < n; s++)
        {
            // Edges into states that can no longer accept are dropped: stepping never enters a dead end.
            edges[s] = [.. edges[s].Where(e => distance[e.Target] < Unreachable)];
            shortestTarget[s] = -1;
            foreach (var (lo, hi, target) in edges[s])
            {
                if (distance[target] == distance[s] - 1 && (shortestTarget[s] < 0 || Preference(PreferredIn(lo, hi)) < Preference(shortestChar[s])))
                {
                    shortestChar[s] = PreferredIn(lo, hi);
                    shortestTarget[s] = target;
                }
            }
        }
        Start = distance[start] < Unreachable ? start : -1;
        // The JSON bytes of the completion ShortestStep spells, from the states nearest acceptance outwards.
        completionBytes = new int[n];
        foreach (int s in Enumerable.Range(0, n).Where(s => distance[s] < Unreachable).OrderBy(s => distance[s]))
            completionBytes[s] = distance[s] == 0 ? 0 : JsonText.EncodedLength(shortestChar[s]) + completionBytes[shortestTarget[s]];
    }

    /// <summary>String nodes over this automaton shared by the schemas that use it, by length bounds (a few at most).</summary>
    private readonly Dictionary<(int Min, int? Max), StringNode> stringNodes = [];

    /// <summary>How many length variants of one automaton are shared; others get nodes of their own.</summary>
    private const int MaxSharedStringNodes = 16;

    private NumberNode? numberNode;

    /// <summary>
    /// The string node of this automaton with these length bounds, shared by every schema that asks for it, so its
    /// token masks are computed once (a new one beyond <see cref="MaxSharedStringNodes"/> variants).
    /// </summary>
    public StringNode SharedStringNode(int minLength, int? maxLength, SchemaCompileBudget budget)
    {
        lock (stringNodes)
        {
            if (stringNodes.TryGetValue((minLength, maxLength), out StringNode? known))
                return known;
        }
        var node = new StringNode(this, minLength, maxLength, budget);
        lock (stringNodes)
        {
            if (stringNodes.Count < MaxSharedStringNodes)
                node = stringNodes.TryAdd((minLength, maxLength), node) ? node : stringNodes[(minLength, maxLength)];
        }
        return node;
    }

    /// <summary>The number node of this (number) automaton, shared by every schema that uses it.</summary>
    public NumberNode NumberNode
    {
        get
        {
            if (numberNode is null)
                Interlocked.CompareExchange(ref numberNode, new NumberNode(this), null);
            return numberNode;
        }
    }

    /// <summary>The start state, or −1 when no string is accepted at all.</summary>
    public int Start { get; }

    public int StateCount => edges.Length;

    /// <summary>What the automaton holds in memory, in bytes (an estimate, for the cache that keeps it).</summary>
    public long EstimatedBytes => (long)edges.Length * BytesPerState + edges.Sum(e => (long)e.Length) * BytesPerTransition;

    /// <summary>For a product automaton, each state's component states (−1 where a component has rejected).</summary>
    public int[][]? Components { get; }

    /// <summary>The state after one more character, or −1 when the character leads nowhere acceptable.</summary>
    public int Step(int state, int codePoint)
    {
        var list = edges[state];
        int lo = 0, hi = list.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < list[mid].Lo)
                hi = mid - 1;
            else if (codePoint > list[mid].Hi)
                lo = mid + 1;
            else
                return list[mid].Target;
        }
        return -1;
    }

    public bool IsAccepting(int state) => accepting[state];

    /// <summary>Characters still needed, at the least, to reach an accepting state.</summary>
    public int MinToAccept(int state) => distance[state];

    /// <summary>The transitions out of a state (to live states only), by ascending code point.</summary>
    public IReadOnlyList<(int Lo, int Hi, int Target)> Transitions(int state) => edges[state];

    /// <summary>Bytes of the completion <see cref="ShortestStep"/> spells from the state, written as JSON string content.</summary>
    public int CompletionBytes(int state) => completionBytes[state];

    /// <summary>The character on a shortest way to acceptance (a readable one where there is a choice), and the state after it.</summary>
    public (int CodePoint, int Next) ShortestStep(int state) => (shortestChar[state], shortestTarget[state]);

    /// <summary>The state every character in [lo, hi] leads to, or −1 when they do not all lead to the same one.</summary>
    public int SingleTarget(int state, int lo, int hi)
    {
        foreach (var (elo, ehi, target) in edges[state])
        {
            if (elo <= lo && ehi >= hi)
                return target;
            if (elo > lo)
                break;
        }
        return -1;
    }

    private (CodePointSet Chars, bool[] Total, int MaxCompletionBytes)? totality;

    /// <summary>
    /// The states from which no character of <paramref name="chars"/> is ever rejected (every one leads to another
    /// such state), and the most completion bytes among them: inside a string, tokens made of those characters can
    /// then be allowed wholesale. Computed once per character set (the tokenizer's plain string characters).
    /// </summary>
    public (bool[] Total, int MaxCompletionBytes) TotalStates(CodePointSet chars)
    {
        if (totality is { } known && ReferenceEquals(known.Chars, chars))
            return (known.Total, known.MaxCompletionBytes);
        int n = edges.Length;
        var total = new bool[n];
        for (int s = 0; s < n; s++)
            total[s] = Covers(s, chars);
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int s = 0; s < n; s++)
            {
                if (total[s] && edges[s].Any(e => !total[e.Target] && chars.Intersect(CodePointSet.Range(e.Lo, e.Hi)) is { IsEmpty: false }))
                {
                    total[s] = false;
                    changed = true;
                }
            }
        }
        int max = Enumerable.Range(0, n).Where(s => total[s]).Select(s => completionBytes[s]).DefaultIfEmpty(0).Max();
        totality = (chars, total, max);
        return (total, max);
    }

    /// <summary>Whether the state's transitions cover every character of the set.</summary>
    private bool Covers(int state, CodePointSet chars)
    {
        var list = edges[state];
        int e = 0;
        foreach (var (lo, hi) in chars.Ranges)
        {
            int next = lo;
            while (next <= hi)
            {
                while (e < list.Length && list[e].Hi < next)
                    e++;
                if (e == list.Length || list[e].Lo > next)
                    return false;
                next = list[e].Hi + 1;
            }
        }
        return true;
    }

    /// <summary>Whether some character in [lo, hi] continues from the state.</summary>
    public bool AnyIn(int state, int lo, int hi)
    {
        foreach (var edge in edges[state])
        {
            if (edge.Lo <= hi && edge.Hi >= lo)
                return true;
        }
        return false;
    }

    /// <summary>The character in [lo, hi] that leaves the fewest characters to acceptance, with the state after it; null if none continues.</summary>
    public (int CodePoint, int Next)? BestIn(int state, int lo, int hi)
    {
        (int, int)? best = null;
        int bestDistance = Unreachable;
        foreach (var (elo, ehi, target) in edges[state])
        {
            int a = Math.Max(elo, lo), b = Math.Min(ehi, hi);
            if (a <= b && distance[target] < bestDistance)
            {
                best = (PreferredIn(a, b), target);
                bestDistance = distance[target];
            }
        }
        return best;
    }

    /// <summary>A readable character from [lo, hi] when there is one: a letter, then a digit, then printable ASCII.</summary>
    public static int PreferredIn(int lo, int hi)
    {
        foreach (var (a, b) in Preferred)
        {
            int x = Math.Max(a, lo);
            if (x <= Math.Min(b, hi))
                return x;
        }
        return lo;
    }

    private static readonly (int Lo, int Hi)[] Preferred = [('a', 'z'), ('0', '9'), ('A', 'Z'), ('-', '.'), ('_', '_'), (' ', '!'), ('#', '['), (']', '~'), (0xA0, 0xD7FF)];

    private static int Preference(int c)
    {
        for (int i = 0; i < Preferred.Length; i++)
        {
            if (c >= Preferred[i].Lo && c <= Preferred[i].Hi)
                return i;
        }
        return Preferred.Length;
    }

    /// <summary>Breadth-first distance from each state to the nearest accepting one, each character costing 1.</summary>
    private static int[] Distances((int Lo, int Hi, int Target)[][] edges, bool[] accepting)
    {
        int n = edges.Length;
        var reverse = new List<int>[n];
        for (int s = 0; s < n; s++)
            reverse[s] = [];
        for (int s = 0; s < n; s++)
        {
            foreach (var edge in edges[s])
                reverse[edge.Target].Add(s);
        }
        var distance = Enumerable.Repeat(Unreachable, n).ToArray();
        var queue = new Queue<int>();
        for (int s = 0; s < n; s++)
        {
            if (accepting[s])
            {
                distance[s] = 0;
                queue.Enqueue(s);
            }
        }
        while (queue.Count > 0)
        {
            int s = queue.Dequeue();
            foreach (int p in reverse[s])
            {
                if (distance[p] == Unreachable)
                {
                    distance[p] = distance[s] + 1;
                    queue.Enqueue(p);
                }
            }
        }
        return distance;
    }

    /// <summary>
    /// Explores an automaton whose states are described by keys (sets of NFA states, tuples of component states),
    /// breadth first from <paramref name="start"/>. <paramref name="successors"/> returns disjoint ranges.
    /// </summary>
    /// <exception cref="FormatException">The automaton needs more than <see cref="MaxStates"/> states.</exception>
    /// <exception cref="SchemaBudgetExceededException">The schema's compilation is over its budget.</exception>
    public static CharDfa Explore(int[] start, Func<int[], IEnumerable<(int Lo, int Hi, int[] Target)>> successors, Func<int[], bool> isAccepting, SchemaCompileBudget budget, bool keepKeys = false)
    {
        var ids = new Dictionary<int[], int>(IntArrayComparer.Instance);
        var keys = new List<int[]>();
        var edges = new List<(int, int, int)[]>();
        int Intern(int[] key)
        {
            if (ids.TryGetValue(key, out int id))
                return id;
            if (keys.Count >= MaxStates)
                throw new FormatException($"it needs more than {MaxStates} automaton states");
            ids[key] = id = keys.Count;
            keys.Add(key);
            return id;
        }
        Intern(start);
        for (int s = 0; s < keys.Count; s++)
        {
            edges.Add([.. successors(keys[s]).Select(e => (e.Lo, e.Hi, Intern(e.Target)))]);
            budget.AddState(edges[s].Length);
        }
        return new CharDfa([.. edges], [.. keys.Select(isAccepting)], 0, keepKeys ? [.. keys] : null);
    }

    /// <summary>The automaton of a regular expression with JSON Schema's semantics: a match anywhere, unless anchored.</summary>
    /// <exception cref="FormatException">The expression needs too many states.</exception>
    public static CharDfa FromRegex(RegexNode regex, SchemaCompileBudget budget)
    {
        var nfa = new Nfa(budget);
        // Search semantics: any characters, the expression, any characters; ^ and $ pin the ends.
        int prefix = nfa.NewState(), suffix = nfa.NewState();
        nfa.AddChars(prefix, CodePointSet.All, prefix);
        nfa.AddChars(suffix, CodePointSet.All, suffix);
        var (start, end) = nfa.Build(regex);
        nfa.Epsilon[prefix].Add(start);
        nfa.Epsilon[end].Add(suffix);
        int[] initial = nfa.Closure([prefix], atStart: true);
        return Explore(
            initial,
            set => nfa.Successors(set),
            set => nfa.ReachesWithEndAnchors(set, suffix),
            budget);
    }

    /// <summary>Strings of <paramref name="min"/> to <paramref name="max"/> characters (null: no upper bound) from a set.</summary>
    public static CharDfa Lengths(int min, int? max, SchemaCompileBudget budget, CodePointSet? chars = null)
    {
        var set = chars ?? CodePointSet.All;
        int top = max ?? min;
        return Explore(
            [0],
            key => key[0] < top || max is null ? set.Ranges.Select(r => (r.Lo, r.Hi, new[] { Math.Min(key[0] + 1, top) })) : [],
            key => key[0] >= min,
            budget);
    }

    /// <summary>Exactly the given strings.</summary>
    public static CharDfa Strings(IEnumerable<string> values, SchemaCompileBudget budget)
    {
        // A trie over code points; a key is the trie node.
        var children = new List<Dictionary<int, int>> { new() };
        var terminal = new List<bool> { false };
        foreach (string value in values)
        {
            int node = 0;
            foreach (int c in RegexNode.EnumerateCodePoints(value))
            {
                if (!children[node].TryGetValue(c, out int next))
                {
                    children[node][c] = next = children.Count;
                    children.Add([]);
                    terminal.Add(false);
                }
                node = next;
            }
            terminal[node] = true;
        }
        return Explore(
            [0],
            key => children[key[0]].OrderBy(p => p.Key).Select(p => (p.Key, p.Key, new[] { p.Value })),
            key => terminal[key[0]],
            budget,
            keepKeys: true);
    }

    /// <summary>
    /// Runs several automata side by side. A state exists while every <paramref name="required"/> component still
    /// continues; the others may have rejected (their component state is −1). <paramref name="isAccepting"/> decides
    /// from the component states; <see cref="Components"/> keeps them.
    /// </summary>
    public static CharDfa Product(IReadOnlyList<CharDfa> parts, IReadOnlyList<bool> required, Func<int[], bool> isAccepting, SchemaCompileBudget budget)
    {
        if (parts.Where((p, i) => required[i]).Any(p => p.Start < 0))
            return Strings([], budget);
        int[] start = [.. parts.Select(p => p.Start)];
        return Explore(start, key => ProductSuccessors(parts, required, key), isAccepting, budget, keepKeys: true);
    }

    /// <summary>The strings the automaton rejects.</summary>
    public static CharDfa Complement(CharDfa dfa, SchemaCompileBudget budget)
    {
        // Key: the state, or −1 once the input has left the automaton (then every continuation is accepted).
        int[] start = [dfa.Start];
        return Explore(start, key => ComplementSuccessors(dfa, key[0]), key => key[0] < 0 || !dfa.IsAccepting(key[0]), budget);
    }

    private static IEnumerable<(int Lo, int Hi, int[] Target)> ComplementSuccessors(CharDfa dfa, int state)
    {
        int next = 0;
        if (state >= 0)
        {
            foreach (var (lo, hi, target) in dfa.edges[state])
            {
                if (lo > next)
                    yield return (next, lo - 1, [-1]);
                yield return (lo, hi, [target]);
                next = hi + 1;
            }
        }
        if (next <= CodePointSet.MaxCodePoint)
            yield return (next, CodePointSet.MaxCodePoint, [-1]);
    }

    /// <summary>Strings every automaton accepts.</summary>
    public static CharDfa Intersect(IReadOnlyList<CharDfa> parts, SchemaCompileBudget budget) =>
        parts.Count == 1 ? parts[0] : Product(parts, [.. parts.Select(_ => true)], key => key.Select((s, i) => parts[i].IsAccepting(s)).All(a => a), budget);

    private static IEnumerable<(int Lo, int Hi, int[] Target)> ProductSuccessors(IReadOnlyList<CharDfa> parts, IReadOnlyList<bool> required, int[] key)
    {
        // Boundaries where any live component's transition changes.
        var points = new SortedSet<int> { 0, CodePointSet.MaxCodePoint + 1 };
        for (int i = 0; i < parts.Count; i++)
        {
            if (key[i] < 0)
                continue;
            foreach (var (lo, hi, _) in parts[i].edges[key[i]])
            {
                points.Add(lo);
                points.Add(hi + 1);
            }
        }
        int[] bounds = [.. points];
        (int Lo, int Hi, int[] Target)? pending = null;
        for (int b = 0; b + 1 < bounds.Length; b++)
        {
            int lo = bounds[b], hi = bounds[b + 1] - 1;
            var target = new int[parts.Count];
            bool dead = false, anyLive = false;
            for (int i = 0; i < parts.Count && !dead; i++)
            {
                target[i] = key[i] < 0 ? -1 : parts[i].Step(key[i], lo);
                dead = target[i] < 0 && required[i];
                anyLive |= target[i] >= 0;
            }
            if (dead || !anyLive)
            {
                if (pending is { } p)
                    yield return p;
                pending = null;
                continue;
            }
            if (pending is { } q && q.Hi + 1 == lo && q.Target.AsSpan().SequenceEqual(target))
            {
                pending = (q.Lo, hi, q.Target);
                continue;
            }
            if (pending is { } r)
                yield return r;
            pending = (lo, hi, target);
        }
        if (pending is { } last)
            yield return last;
    }

    /// <summary>A Thompson NFA over code points with anchor edges, from which <see cref="FromRegex"/> builds the DFA.</summary>
    private sealed class Nfa(SchemaCompileBudget budget)
    {
        /// <summary>NFA states allowed while expanding counted repetitions.</summary>
        private const int MaxNfaStates = 200_000;

        public List<List<(int Lo, int Hi, int Target)>> Chars { get; } = [];
        public List<List<int>> Epsilon { get; } = [];
        private readonly List<List<int>> startAnchors = [];
        private readonly List<List<int>> endAnchors = [];

        public int NewState()
        {
            if (Chars.Count >= MaxNfaStates)
                throw new FormatException("its counted repetitions expand to too many states");
            Chars.Add([]);
            Epsilon.Add([]);
            startAnchors.Add([]);
            endAnchors.Add([]);
            return Chars.Count - 1;
        }

        public void AddChars(int from, CodePointSet set, int to)
        {
            foreach (var (lo, hi) in set.Ranges)
                Chars[from].Add((lo, hi, to));
        }

        public (int Start, int End) Build(RegexNode node)
        {
            switch (node)
            {
                case RegexNode.Chars chars:
                {
                    int s = NewState(), e = NewState();
                    AddChars(s, chars.Set, e);
                    return (s, e);
                }
                case RegexNode.Sequence sequence:
                {
                    int s = NewState(), e = s;
                    foreach (RegexNode part in sequence.Parts)
                    {
                        var (ps, pe) = Build(part);
                        Epsilon[e].Add(ps);
                        e = pe;
                    }
                    return (s, e);
                }
                case RegexNode.Choice choice:
                {
                    int s = NewState(), e = NewState();
                    foreach (RegexNode option in choice.Options)
                    {
                        var (os, oe) = Build(option);
                        Epsilon[s].Add(os);
                        Epsilon[oe].Add(e);
                    }
                    return (s, e);
                }
                case RegexNode.Repeat repeat:
                {
                    int s = NewState(), e = s;
                    for (int i = 0; i < repeat.Min; i++)
                    {
                        var (bs, be) = Build(repeat.Body);
                        Epsilon[e].Add(bs);
                        e = be;
                    }
                    if (repeat.Max is null)
                    {
                        var (bs, be) = Build(repeat.Body);
                        int loop = NewState();
                        Epsilon[e].Add(loop);
                        Epsilon[loop].Add(bs);
                        Epsilon[be].Add(loop);
                        return (s, loop);
                    }
                    int end = NewState();
                    Epsilon[e].Add(end);
                    for (int i = repeat.Min; i < repeat.Max; i++)
                    {
                        var (bs, be) = Build(repeat.Body);
                        Epsilon[e].Add(bs);
                        Epsilon[be].Add(end);
                        e = be;
                    }
                    return (s, end);
                }
                case RegexNode.StartAnchor:
                {
                    int s = NewState(), e = NewState();
                    startAnchors[s].Add(e);
                    return (s, e);
                }
                case RegexNode.EndAnchor:
                {
                    int s = NewState(), e = NewState();
                    endAnchors[s].Add(e);
                    return (s, e);
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(node));
            }
        }

        /// <summary>The states reachable without reading: empty moves, and ^ only before the first character.</summary>
        public int[] Closure(IEnumerable<int> states, bool atStart)
        {
            var seen = new HashSet<int>();
            var stack = new Stack<int>(states);
            while (stack.Count > 0)
            {
                int s = stack.Pop();
                if (!seen.Add(s))
                    continue;
                budget.Tick();
                foreach (int t in Epsilon[s])
                    stack.Push(t);
                if (atStart)
                {
                    foreach (int t in startAnchors[s])
                        stack.Push(t);
                }
            }
            int[] result = [.. seen];
            Array.Sort(result);
            return result;
        }

        /// <summary>Whether the string may end here: <paramref name="final"/> is reachable by empty moves and $.</summary>
        public bool ReachesWithEndAnchors(int[] set, int final)
        {
            var seen = new HashSet<int>();
            var stack = new Stack<int>(set);
            while (stack.Count > 0)
            {
                int s = stack.Pop();
                if (s == final)
                    return true;
                if (!seen.Add(s))
                    continue;
                foreach (int t in Epsilon[s])
                    stack.Push(t);
                foreach (int t in endAnchors[s])
                    stack.Push(t);
            }
            return false;
        }

        /// <summary>The subset transitions of a set of states, as disjoint ranges.</summary>
        public IEnumerable<(int Lo, int Hi, int[] Target)> Successors(int[] set)
        {
            var all = set.SelectMany(s => Chars[s]).ToList();
            var points = new SortedSet<int>();
            foreach (var (lo, hi, _) in all)
            {
                points.Add(lo);
                points.Add(hi + 1);
            }
            int[] bounds = [.. points];
            var result = new List<(int Lo, int Hi, int[] Target)>();
            for (int b = 0; b + 1 < bounds.Length; b++)
            {
                int lo = bounds[b], hi = bounds[b + 1] - 1;
                var targets = all.Where(e => e.Lo <= lo && e.Hi >= lo).Select(e => e.Target).Distinct().ToList();
                if (targets.Count == 0)
                    continue;
                int[] closure = Closure(targets, atStart: false);
                if (result.Count > 0 && result[^1].Hi + 1 == lo && result[^1].Target.AsSpan().SequenceEqual(closure))
                    result[^1] = (result[^1].Lo, hi, result[^1].Target);
                else
                    result.Add((lo, hi, closure));
            }
            return result;
        }
    }
}
