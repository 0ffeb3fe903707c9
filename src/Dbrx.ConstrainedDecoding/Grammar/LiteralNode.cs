namespace Dbrx.ConstrainedDecoding;

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
    }

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
