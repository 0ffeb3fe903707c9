namespace Dbrx.Gateway;

/// <summary>
/// The block hashes one replica is believed to hold, at most a fixed number of them: adding one past the bound drops
/// the least recently added or matched. Each hash keeps the set of media it is held on (a bit per medium), so a block
/// demoted from the device to the host tier stays held. Not thread-safe: <see cref="ReplicaPrefixIndex"/> locks it.
/// </summary>
internal sealed class BoundedBlockSet(int capacity)
{
    private readonly Dictionary<ulong, LinkedListNode<(ulong Hash, byte Media)>> nodes = [];
    private readonly LinkedList<(ulong Hash, byte Media)> recency = new();

    public int Count => nodes.Count;

    /// <summary>Records <paramref name="hash"/> as held on <paramref name="media"/> (bits), as the most recently used.</summary>
    public void Add(ulong hash, byte media)
    {
        if (nodes.TryGetValue(hash, out var node))
        {
            node.Value = (hash, (byte)(node.Value.Media | media));
            recency.Remove(node);
            recency.AddFirst(node);
            return;
        }
        if (nodes.Count == capacity)
        {
            nodes.Remove(recency.Last!.Value.Hash);
            recency.RemoveLast();
        }
        nodes[hash] = recency.AddFirst((hash, media));
    }

    /// <summary>Forgets <paramref name="hash"/> on <paramref name="media"/> (bits); once on no medium, forgets it.</summary>
    public void Remove(ulong hash, byte media)
    {
        if (!nodes.TryGetValue(hash, out var node))
            return;
        byte left = (byte)(node.Value.Media & ~media);
        if (left != 0)
        {
            node.Value = (hash, left);
            return;
        }
        nodes.Remove(hash);
        recency.Remove(node);
    }

    public void Clear()
    {
        nodes.Clear();
        recency.Clear();
    }

    /// <summary>How many of <paramref name="blocks"/>, from the first, are held: each block names its whole prefix, so the run ends at the first missing one.</summary>
    public int LeadingRun(IReadOnlyList<ulong> blocks)
    {
        int run = 0;
        while (run < blocks.Count && nodes.TryGetValue(blocks[run], out var node))
        {
            recency.Remove(node);
            recency.AddFirst(node);
            run++;
        }
        return run;
    }
}
