namespace Dbrx.ConstrainedDecoding;

/// <summary>A Thompson NFA over code points with anchor edges, from which <see cref="CharDfa.FromRegex"/> builds the DFA.</summary>
internal sealed class Nfa(SchemaCompileBudget budget)
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
