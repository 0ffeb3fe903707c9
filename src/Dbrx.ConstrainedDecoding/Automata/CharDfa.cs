namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A deterministic automaton over code points, built whole at compile time: the character-level part of a string's
/// constraints (its <c>pattern</c>s, <c>format</c>, and with them its length bounds; or an object's key rules).
/// States from which no accepting state can be reached are removed, so every state <see cref="Step"/> returns can
/// still be finished, and <see cref="MinToAccept"/> says in how many characters at the least.
/// </summary>
internal sealed partial class CharDfa
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
}
