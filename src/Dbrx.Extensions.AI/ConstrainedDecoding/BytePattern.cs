namespace Dbrx.Extensions.AI.ConstrainedDecoding;

/// <summary>
/// A small regular expression over ASCII bytes, compiled to an NFA, for string formats (<c>date-time</c>, <c>uuid</c>,
/// ...) and simple <c>pattern</c> keywords. Supported: literals, escapes (<c>\d</c>, <c>\.</c>, ...), classes
/// (<c>[0-9a-f]</c>), groups, <c>|</c>, and the quantifiers <c>?</c>, <c>*</c>, <c>+</c>, <c>{n}</c>, <c>{n,m}</c>;
/// the pattern must match the whole string. Anything else makes <see cref="TryParse"/> fail, and the caller then does
/// not constrain the string. Matching is a set of NFA states stepped one byte at a time.
/// </summary>
internal sealed class BytePattern
{
    /// <summary>The distance of a state from which no match can be reached (small enough to add to without overflow).</summary>
    private const int Unreachable = int.MaxValue / 4;

    private readonly List<List<(byte Lo, byte Hi, int Target)>> edges = [];
    private readonly List<List<int>> epsilons = [];
    private int[] distanceToAccept = [];
    private int accept;

    private BytePattern() { }

    /// <summary>The state set before any byte.</summary>
    public int[] Start { get; private set; } = [];

    /// <summary>Bytes of the shortest string the pattern matches.</summary>
    public int MinLength => MinToAccept(Start);

    /// <summary>
    /// The formats that are enforced, with their patterns. Days stop at 28 so every generated date exists in every
    /// month, offsets stay within ±14:00, and times carry no offset (as .NET writes TimeOnly): every value these
    /// patterns allow parses with .NET's DateOnly, TimeOnly, DateTime, DateTimeOffset and Guid.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Formats { get; } = new Dictionary<string, string>
    {
        ["date"] = @"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
        ["time"] = @"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?",
        ["date-time"] = @"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)",
        ["uuid"] = @"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["guid"] = @"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["ipv4"] = @"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}",
    };

    /// <summary>Compiles a pattern, or returns null when it uses syntax outside the supported subset.</summary>
    public static BytePattern? TryParse(string pattern)
    {
        string body = pattern;
        if (body.StartsWith('^'))
            body = body[1..];
        if (body.EndsWith('$') && !body.EndsWith(@"\$", StringComparison.Ordinal))
            body = body[..^1];
        var result = new BytePattern();
        int position = 0;
        try
        {
            var (start, end) = result.ParseAlternation(body, ref position);
            if (position != body.Length)
                return null;
            result.accept = end;
            result.Start = result.Closure([start]);
            result.ComputeDistances();
            return result.MinLength >= Unreachable ? null : result;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The states after one more byte; empty when the byte cannot continue a match.</summary>
    public int[] Step(int[] states, byte value)
    {
        var next = new List<int>();
        foreach (int state in states)
        {
            foreach (var (lo, hi, target) in edges[state])
            {
                if (value >= lo && value <= hi)
                    next.Add(target);
            }
        }
        return next.Count == 0 ? [] : Closure(next);
    }

    /// <summary>Whether the bytes so far form a complete match.</summary>
    public bool Accepts(int[] states) => Array.IndexOf(states, accept) >= 0;

    /// <summary>Bytes still needed to reach a complete match.</summary>
    public int MinToAccept(int[] states)
    {
        int best = Unreachable;
        foreach (int state in states)
            best = Math.Min(best, distanceToAccept[state]);
        return best;
    }

    /// <summary>Appends the shortest bytes that complete a match from <paramref name="states"/>.</summary>
    public void AppendShortestCompletion(int[] states, List<byte> output)
    {
        while (MinToAccept(states) is > 0 and var distance && distance < Unreachable)
        {
            byte next = states.SelectMany(s => edges[s]).First(e => distanceToAccept[e.Target] == distance - 1).Lo;
            output.Add(next);
            states = Step(states, next);
        }
    }

    private int NewState()
    {
        edges.Add([]);
        epsilons.Add([]);
        return edges.Count - 1;
    }

    private (int Start, int End) ParseAlternation(string p, ref int i)
    {
        var (start, end) = ParseSequence(p, ref i);
        if (i >= p.Length || p[i] != '|')
            return (start, end);
        int s = NewState(), e = NewState();
        epsilons[s].Add(start);
        epsilons[end].Add(e);
        while (i < p.Length && p[i] == '|')
        {
            i++;
            var (bs, be) = ParseSequence(p, ref i);
            epsilons[s].Add(bs);
            epsilons[be].Add(e);
        }
        return (s, e);
    }

    private (int Start, int End) ParseSequence(string p, ref int i)
    {
        int start = NewState(), end = start;
        while (i < p.Length && p[i] != '|' && p[i] != ')')
        {
            int atomStart = i;
            var (s, e) = ParseAtom(p, ref i);
            (s, e) = ParseQuantifier(p, ref i, s, e, p[atomStart..i]);
            epsilons[end].Add(s);
            end = e;
        }
        return (start, end);
    }

    private (int Start, int End) ParseAtom(string p, ref int i)
    {
        char c = p[i];
        if (c == '(')
        {
            i++;
            if (i + 1 < p.Length && p[i] == '?' && p[i + 1] == ':')
                i += 2;
            var group = ParseAlternation(p, ref i);
            if (i >= p.Length || p[i] != ')')
                throw new FormatException("unclosed group");
            i++;
            return group;
        }
        var ranges = c == '[' ? ParseClass(p, ref i) : ParseSingle(p, ref i);
        int s = NewState(), e = NewState();
        foreach (var (lo, hi) in ranges)
            edges[s].Add((lo, hi, e));
        return (s, e);
    }

    private static List<(byte, byte)> ParseSingle(string p, ref int i)
    {
        char c = p[i++];
        if (c == '.')
            return [(0x20, 0x7E)];
        if (c is '*' or '+' or '?' or '{' or '}' or ']' or '^' or '$')
            throw new FormatException($"unexpected '{c}'");
        if (c != '\\')
            return [Ascii(c)];
        if (i >= p.Length)
            throw new FormatException("trailing backslash");
        char escaped = p[i++];
        return escaped switch
        {
            'd' => [((byte)'0', (byte)'9')],
            'w' => [((byte)'0', (byte)'9'), ((byte)'A', (byte)'Z'), ((byte)'a', (byte)'z'), ((byte)'_', (byte)'_')],
            's' => [((byte)' ', (byte)' ')],
            _ when char.IsLetterOrDigit(escaped) => throw new FormatException($"unsupported escape \\{escaped}"),
            _ => [Ascii(escaped)],
        };
    }

    private static List<(byte, byte)> ParseClass(string p, ref int i)
    {
        i++;
        if (i < p.Length && p[i] == '^')
            throw new FormatException("negated classes are not supported");
        var ranges = new List<(byte, byte)>();
        while (i < p.Length && p[i] != ']')
        {
            if (p[i] == '\\')
            {
                ranges.AddRange(ParseSingle(p, ref i));
                continue;
            }
            var (lo, _) = Ascii(p[i++]);
            if (i + 1 < p.Length && p[i] == '-' && p[i + 1] != ']')
            {
                var (hi, _) = Ascii(p[i + 1]);
                i += 2;
                ranges.Add((lo, hi));
            }
            else
            {
                ranges.Add((lo, lo));
            }
        }
        if (i >= p.Length)
            throw new FormatException("unclosed class");
        i++;
        return ranges;
    }

    private (int Start, int End) ParseQuantifier(string p, ref int i, int s, int e, string atom)
    {
        if (i >= p.Length)
            return (s, e);
        switch (p[i])
        {
            case '?':
                i++;
                epsilons[s].Add(e);
                return (s, e);
            case '*':
                i++;
                epsilons[s].Add(e);
                epsilons[e].Add(s);
                return (s, e);
            case '+':
                i++;
                epsilons[e].Add(s);
                return (s, e);
            case '{':
                int close = p.IndexOf('}', i);
                if (close < 0)
                    throw new FormatException("unclosed quantifier");
                string[] bounds = p[(i + 1)..close].Split(',');
                int min = int.Parse(bounds[0], System.Globalization.CultureInfo.InvariantCulture);
                int max = bounds.Length == 1 ? min : int.Parse(bounds[1], System.Globalization.CultureInfo.InvariantCulture);
                if (min < 1 || max < min || max > 64)
                    throw new FormatException("unsupported bounds");
                i = close + 1;
                // Repeat by re-parsing the atom text: copies 2..max of the fragment, the ones past min optional.
                int start = s, end = e;
                for (int k = 1; k < max; k++)
                {
                    int j = 0;
                    var (cs, ce) = ParseAtom(atom, ref j);
                    epsilons[end].Add(cs);
                    if (k >= min)
                        epsilons[cs].Add(ce);
                    end = ce;
                }
                return (start, end);
            default:
                return (s, e);
        }
    }

    private static (byte, byte) Ascii(char c) =>
        c is >= ' ' and <= '~' ? ((byte)c, (byte)c) : throw new FormatException("only printable ASCII is supported");

    private int[] Closure(IEnumerable<int> states)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>(states);
        while (stack.Count > 0)
        {
            int state = stack.Pop();
            if (!seen.Add(state))
                continue;
            foreach (int next in epsilons[state])
                stack.Push(next);
        }
        int[] result = [.. seen];
        Array.Sort(result);
        return result;
    }

    private void ComputeDistances()
    {
        int n = edges.Count;
        distanceToAccept = Enumerable.Repeat(Unreachable, n).ToArray();
        distanceToAccept[accept] = 0;
        // Bellman-Ford style relaxation: a byte edge costs 1, an epsilon edge 0. Patterns are small.
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int state = 0; state < n; state++)
            {
                int best = distanceToAccept[state];
                foreach (int next in epsilons[state])
                    best = Math.Min(best, distanceToAccept[next]);
                foreach (var (_, _, target) in edges[state])
                    best = Math.Min(best, distanceToAccept[target] + 1);
                if (best < distanceToAccept[state])
                {
                    distanceToAccept[state] = best;
                    changed = true;
                }
            }
        }
    }
}
