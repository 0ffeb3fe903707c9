namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>
/// Which token prefixes the prefix cache holds and where, without tensors: blocks of <see cref="BlockTokens"/> tokens,
/// each identified by its whole prefix (<see cref="DbrxPrefixBlockHash"/>), in a device tier of slots and an optional host
/// tier. Every change returns the <see cref="PrefixBlockOperation"/>s that make the slots match; the store applies them.
/// Every block a tier gains or loses is also written to <see cref="Events"/>, for routers that track what it holds.
/// </summary>
/// <remarks>
/// The rules:
/// <list type="number">
/// <item>A prefix is found block by block from the first: the longest run of whole blocks whose tokens (and parents)
/// match, on either tier.</item>
/// <item>Storing a sequence adds each whole block it lacks to the device tier, saved from the sequence's cache row; a
/// block found only on the host moves back to the device the same way (the row holds it too).</item>
/// <item>A device slot is freed from its least recently used block: demoted to the host tier when there is one
/// (a host slot freed the same way), else dropped. A block is dropped only when no block follows it (it is a leaf),
/// so every block stays reachable from its first; blocks of the sequence being stored are never evicted for it.</item>
/// <item>Using a prefix or storing it makes its blocks the most recently used, the first block last (so a prefix
/// loses its tail before its head).</item>
/// </list>
/// <c>PrefixBlockIndexTests</c> checks these against a plain dictionary of prefixes, with random workloads.
/// </remarks>
internal sealed class PrefixBlockIndex
{
    private readonly Dictionary<ulong, Block> blocks = [];
    private readonly Tier device;
    private readonly Tier host;

    /// <param name="blockTokens">Tokens per block.</param>
    /// <param name="deviceSlots">Blocks the device tier holds.</param>
    /// <param name="hostSlots">Blocks the host tier holds (0: none).</param>
    public PrefixBlockIndex(int blockTokens, int deviceSlots, int hostSlots)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(deviceSlots);
        ArgumentOutOfRangeException.ThrowIfNegative(hostSlots);
        BlockTokens = blockTokens;
        device = new Tier(DbrxKvCacheMedium.Device, deviceSlots);
        host = new Tier(DbrxKvCacheMedium.Host, hostSlots);
        Events = new KvCacheEventLog(blockTokens);
    }

    /// <summary>The blocks each tier gained and lost, since they were last taken.</summary>
    public KvCacheEventLog Events { get; }

    /// <summary>Tokens per block.</summary>
    public int BlockTokens { get; }

    /// <summary>Slots of the device tier.</summary>
    public int DeviceSlots => device.Capacity;

    /// <summary>Slots of the host tier.</summary>
    public int HostSlots => host.Capacity;

    /// <summary>Blocks the device tier holds.</summary>
    public int DeviceBlocks => device.Used.Count;

    /// <summary>Blocks the host tier holds.</summary>
    public int HostBlocks => host.Used.Count;

    /// <summary>
    /// Where the longest run of whole blocks at the start of <paramref name="tokens"/> is, at most
    /// <paramref name="maxTokens"/> tokens of it, in order; marks them used.
    /// </summary>
    public IReadOnlyList<PrefixBlockLocation> Lookup(IReadOnlyList<int> tokens, int maxTokens)
    {
        List<Block> chain = Chain(tokens, Math.Min(maxTokens, tokens.Count) / BlockTokens);
        Touch(chain);
        return [.. chain.Select(b => new PrefixBlockLocation(b.Tier, b.Slot))];
    }

    /// <summary>How many tokens <see cref="Lookup"/> would find, without marking anything used.</summary>
    public int PrefixLength(IReadOnlyList<int> tokens, int maxTokens) =>
        Chain(tokens, Math.Min(maxTokens, tokens.Count) / BlockTokens).Count * BlockTokens;

    /// <summary>
    /// Adds the whole blocks of the first <paramref name="length"/> of <paramref name="tokens"/> (a sequence whose cache
    /// row holds them) that the device tier lacks; returns the operations, in order, that save them from the row and
    /// demote what they displace. Stops at the first block no slot can be found for.
    /// </summary>
    public IReadOnlyList<PrefixBlockOperation> Store(IReadOnlyList<int> tokens, long length)
    {
        var operations = new List<PrefixBlockOperation>();
        int count = (int)(Math.Min(length, tokens.Count) / BlockTokens);
        if (device.Capacity == 0 || count == 0)
            return operations;
        var chain = new List<Block>();
        var pinned = new HashSet<Block>();
        Block? parent = null;
        for (int i = 0; i < count; i++)
        {
            int[] blockTokens = Tokens(tokens, i);
            ulong hash = DbrxPrefixBlockHash.Of(parent?.Hash ?? DbrxPrefixBlockHash.Root, blockTokens);
            Block? block = blocks.GetValueOrDefault(hash);
            if (block is not null && !block.Matches(parent, blockTokens))
                break;   // a hash collision: the rest cannot be stored under this chain
            if (block is not null)
                pinned.Add(block);
            if (block is null || block.Tier == DbrxKvCacheMedium.Host)
            {
                if (AllocateDeviceSlot(pinned, operations) is not int slot)
                    break;
                if (block is null)
                {
                    block = new Block(hash, parent, blockTokens);
                    blocks[hash] = block;
                    if (parent is not null)
                        parent.Children++;
                    pinned.Add(block);
                }
                else
                {
                    host.Release(block);
                    Events.Removed(block.Hash, DbrxKvCacheMedium.Host);
                }
                device.Place(block, slot);
                Events.Stored(block.Hash, parent?.Hash, blockTokens, DbrxKvCacheMedium.Device);
                operations.Add(new PrefixBlockOperation.Save(i * BlockTokens, slot));
            }
            chain.Add(block);
            parent = block;
        }
        Touch(chain);
        return operations;
    }

    /// <summary>Forgets every block (the slots' contents are unknown after a failure).</summary>
    public void Clear()
    {
        blocks.Clear();
        device.Clear();
        host.Clear();
        Events.Cleared();
    }

    /// <summary>The blocks each tier holds, by slot: for the tests' checks.</summary>
    internal IEnumerable<(DbrxKvCacheMedium Tier, int Slot, int[] Prefix)> Contents() =>
        blocks.Values.Select(b => (b.Tier, b.Slot, b.Prefix()));

    private List<Block> Chain(IReadOnlyList<int> tokens, int count)
    {
        var chain = new List<Block>();
        Block? parent = null;
        for (int i = 0; i < count; i++)
        {
            int[] blockTokens = Tokens(tokens, i);
            Block? block = blocks.GetValueOrDefault(DbrxPrefixBlockHash.Of(parent?.Hash ?? DbrxPrefixBlockHash.Root, blockTokens));
            if (block is null || !block.Matches(parent, blockTokens))
                break;
            chain.Add(block);
            parent = block;
        }
        return chain;
    }

    /// <summary>A free device slot: an unused one, else one freed from the least recently used block that may go; null when none may.</summary>
    private int? AllocateDeviceSlot(HashSet<Block> pinned, List<PrefixBlockOperation> operations)
    {
        if (device.FreeSlot() is int free)
            return free;
        foreach (Block victim in device.Lru)
        {
            if (pinned.Contains(victim))
                continue;
            if (host.Capacity > 0 && AllocateHostSlot(pinned) is int hostSlot)
            {
                operations.Add(new PrefixBlockOperation.Demote(victim.Slot, hostSlot));
                device.Release(victim);
                host.Place(victim, hostSlot);
                Events.Removed(victim.Hash, DbrxKvCacheMedium.Device);
                Events.Stored(victim.Hash, victim.Parent?.Hash, victim.Tokens, DbrxKvCacheMedium.Host);
                return device.FreeSlot();
            }
            if (victim.Children == 0)
            {
                Drop(victim);
                return device.FreeSlot();
            }
        }
        return null;
    }

    /// <summary>A free host slot: an unused one, else one freed by dropping the least recently used leaf; null when none may go.</summary>
    private int? AllocateHostSlot(HashSet<Block> pinned)
    {
        if (host.FreeSlot() is int free)
            return free;
        Block? victim = host.Lru.FirstOrDefault(b => b.Children == 0 && !pinned.Contains(b));
        if (victim is null)
            return null;
        Drop(victim);
        return host.FreeSlot();
    }

    private void Drop(Block block)
    {
        (block.Tier == DbrxKvCacheMedium.Device ? device : host).Release(block);
        Events.Removed(block.Hash, block.Tier);
        blocks.Remove(block.Hash);
        if (block.Parent is not null)
            block.Parent.Children--;
    }

    /// <summary>Marks a prefix's blocks most recently used, its first block last.</summary>
    private void Touch(List<Block> chain)
    {
        for (int i = chain.Count - 1; i >= 0; i--)
            (chain[i].Tier == DbrxKvCacheMedium.Device ? device : host).Touch(chain[i]);
    }

    private int[] Tokens(IReadOnlyList<int> tokens, int block)
    {
        var result = new int[BlockTokens];
        for (int t = 0; t < BlockTokens; t++)
            result[t] = tokens[block * BlockTokens + t];
        return result;
    }

    /// <summary>One block: its identity, its place, and how many blocks follow it.</summary>
    private sealed class Block(ulong hash, Block? parent, int[] tokens)
    {
        public ulong Hash { get; } = hash;

        public Block? Parent { get; } = parent;

        public int[] Tokens { get; } = tokens;

        public DbrxKvCacheMedium Tier { get; set; }

        public int Slot { get; set; } = -1;

        public int Children { get; set; }

        public LinkedListNode<Block>? Node { get; set; }

        public bool Matches(Block? parent, int[] tokens) => Parent == parent && Tokens.AsSpan().SequenceEqual(tokens);

        public int[] Prefix() => Parent is null ? Tokens : [.. Parent.Prefix(), .. Tokens];
    }

    /// <summary>A tier's slots: which are free, and its blocks from least to most recently used.</summary>
    private sealed class Tier(DbrxKvCacheMedium kind, int capacity)
    {
        private readonly Stack<int> free = new(Enumerable.Range(0, capacity).Reverse());
        private readonly LinkedList<Block> lru = new();

        public int Capacity { get; } = capacity;

        public IReadOnlyCollection<Block> Used => lru;

        public IEnumerable<Block> Lru => lru;

        public int? FreeSlot() => free.Count > 0 ? free.Pop() : null;

        public void Place(Block block, int slot)
        {
            block.Tier = kind;
            block.Slot = slot;
            block.Node = lru.AddLast(block);
        }

        public void Release(Block block)
        {
            lru.Remove(block.Node!);
            block.Node = null;
            free.Push(block.Slot);
            block.Slot = -1;
        }

        public void Touch(Block block)
        {
            lru.Remove(block.Node!);
            lru.AddLast(block.Node!);
        }

        public void Clear()
        {
            lru.Clear();
            free.Clear();
            for (int slot = Capacity - 1; slot >= 0; slot--)
                free.Push(slot);
        }
    }
}
