using Dbrx.Inference.Generation;

namespace Dbrx.Gateway;

/// <summary>
/// What each replica is believed to hold, as block hashes (<see cref="Inference.Generation.DbrxPrefixBlockHash"/>):
/// precisely, from the replicas' KV-cache events when they are subscribed to, else approximately, from the gateway's
/// own routing history (the blocks of every prompt it sent there). Either way bounded per replica
/// (<see cref="DbrxGatewayOptions.MaxBlocksPerReplica"/>), least recently used first out.
/// </summary>
internal sealed class ReplicaPrefixIndex(int maxBlocksPerReplica, bool fromEvents) : IKvEventSink
{
    private const byte Device = 1, Host = 2;
    private readonly Dictionary<string, BoundedBlockSet> replicas = [];
    private readonly Lock sync = new();

    /// <summary>True when KV-cache events, not the routing history, say what is held.</summary>
    public bool FromEvents => fromEvents;

    /// <summary>How many of <paramref name="blocks"/>, from the first, <paramref name="replica"/> holds.</summary>
    public int MatchedBlocks(string replica, IReadOnlyList<ulong> blocks)
    {
        lock (sync)
            return replicas.TryGetValue(replica, out var held) ? held.LeadingRun(blocks) : 0;
    }

    /// <summary>Records a prompt sent to <paramref name="replica"/>: it will hold its blocks (the routing history; ignored when events say what is held).</summary>
    public void Routed(string replica, IReadOnlyList<ulong> blocks)
    {
        if (fromEvents)
            return;
        lock (sync)
        {
            BoundedBlockSet held = Held(replica);
            foreach (ulong block in blocks)
                held.Add(block, Device);
        }
    }

    /// <summary>How many blocks <paramref name="replica"/> is believed to hold.</summary>
    public int Count(string replica)
    {
        lock (sync)
            return replicas.TryGetValue(replica, out var held) ? held.Count : 0;
    }

    /// <inheritdoc/>
    public void Apply(string replica, IReadOnlyList<DbrxKvCacheEvent> events)
    {
        lock (sync)
        {
            BoundedBlockSet held = Held(replica);
            foreach (DbrxKvCacheEvent kvEvent in events)
            {
                switch (kvEvent)
                {
                    case DbrxKvCacheEvent.BlockStored stored:
                        foreach (ulong block in stored.BlockHashes)
                            held.Add(block, Medium(stored.Medium));
                        break;
                    case DbrxKvCacheEvent.BlockRemoved removed:
                        foreach (ulong block in removed.BlockHashes)
                            held.Remove(block, Medium(removed.Medium));
                        break;
                    case DbrxKvCacheEvent.AllBlocksCleared:
                        held.Clear();
                        break;
                }
            }
        }
    }

    /// <summary>Forgets what <paramref name="replica"/> held: it restarted (its cache is empty) or its events were lost.</summary>
    public void Forget(string replica)
    {
        lock (sync)
            replicas.Remove(replica);
    }

    private BoundedBlockSet Held(string replica)
    {
        if (!replicas.TryGetValue(replica, out var held))
            replicas[replica] = held = new BoundedBlockSet(maxBlocksPerReplica);
        return held;
    }

    private static byte Medium(DbrxKvCacheMedium medium) => medium == DbrxKvCacheMedium.Host ? Host : Device;
}
