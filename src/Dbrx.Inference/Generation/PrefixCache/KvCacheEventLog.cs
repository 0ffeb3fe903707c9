namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>
/// The <see cref="DbrxKvCacheEvent"/>s of the index's changes since they were last taken, merged where they continue
/// each other: a block stored right after its parent on the same medium joins its parent's event, and removals from one
/// medium in a row make one event (the shape vLLM publishes, one event per stored run).
/// </summary>
internal sealed class KvCacheEventLog(int blockTokens)
{
    private readonly List<Entry> entries = [];

    public void Stored(ulong hash, ulong? parent, int[] tokens, DbrxKvCacheMedium medium)
    {
        if (entries.Count == 0 || entries[^1] is not { Kind: Kind.Stored } last || last.Medium != medium || last.Hashes[^1] != parent)
            entries.Add(last = new Entry(Kind.Stored, medium, parent));
        last.Hashes.Add(hash);
        last.Tokens.AddRange(tokens);
    }

    public void Removed(ulong hash, DbrxKvCacheMedium medium)
    {
        if (entries.Count == 0 || entries[^1] is not { Kind: Kind.Removed } last || last.Medium != medium)
            entries.Add(last = new Entry(Kind.Removed, medium, Parent: null));
        last.Hashes.Add(hash);
    }

    /// <summary>Everything was forgotten: what came before no longer matters.</summary>
    public void Cleared()
    {
        entries.Clear();
        entries.Add(new Entry(Kind.Cleared, DbrxKvCacheMedium.Device, Parent: null));
    }

    /// <summary>The events since the last call, in order; empty when nothing changed.</summary>
    public IReadOnlyList<DbrxKvCacheEvent> Take()
    {
        if (entries.Count == 0)
            return [];
        DbrxKvCacheEvent[] events = [.. entries.Select(ToEvent)];
        entries.Clear();
        return events;
    }

    private DbrxKvCacheEvent ToEvent(Entry entry) => entry.Kind switch
    {
        Kind.Stored => new DbrxKvCacheEvent.BlockStored([.. entry.Hashes], entry.Parent, [.. entry.Tokens], blockTokens, entry.Medium),
        Kind.Removed => new DbrxKvCacheEvent.BlockRemoved([.. entry.Hashes], entry.Medium),
        _ => new DbrxKvCacheEvent.AllBlocksCleared(),
    };

    private enum Kind { Stored, Removed, Cleared }

    private sealed record Entry(Kind Kind, DbrxKvCacheMedium Medium, ulong? Parent)
    {
        public List<ulong> Hashes { get; } = [];

        public List<int> Tokens { get; } = [];
    }
}
