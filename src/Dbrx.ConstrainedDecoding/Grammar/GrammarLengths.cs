namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// Computes every node's <see cref="GrammarNode.MinBytes"/>: a fixed point over the graph, since recursive schemas
/// make a node's shortest value depend on itself. Lengths start at "never" and only shrink, so nodes whose every
/// value would be infinite (recursion with no way out) stay impossible.
/// </summary>
internal static class GrammarLengths
{
    public static void Compute(GrammarNode root)
    {
        var all = new List<GrammarNode>();
        var seen = new HashSet<GrammarNode>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<GrammarNode>([root]);
        while (pending.Count > 0)
        {
            GrammarNode node = pending.Pop();
            if (!seen.Add(node))
                continue;
            all.Add(node);
            foreach (GrammarNode child in node.Children)
                pending.Push(child);
        }
        for (bool changed = true; changed;)
        {
            changed = false;
            // Children were collected after their parents: going backwards settles most nodes in one sweep.
            for (int i = all.Count - 1; i >= 0; i--)
            {
                int length = Math.Min(all[i].ComputeMinBytes(), GrammarNode.Never);
                if (length < all[i].MinBytes)
                {
                    all[i].MinBytes = length;
                    changed = true;
                }
            }
        }
    }
}
