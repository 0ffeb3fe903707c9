namespace Dbrx.ConstrainedDecoding;

// The constructions: every automaton is explored breadth first from keys that describe its states (Explore, where the
// compile budget counts each state), whether the keys are sets of NFA states (FromRegex), counts (Lengths), trie nodes
// (Strings), or tuples of other automata's states (Product, Intersect, Complement).
internal sealed partial class CharDfa
{
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
}
