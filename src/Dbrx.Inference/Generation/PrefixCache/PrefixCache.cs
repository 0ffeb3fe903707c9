using Dbrx.Inference.Modeling;

namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>
/// The generator's prefix cache beyond its batch rows: which prefixes it holds (<see cref="PrefixBlockIndex"/>) and their
/// keys and values (<see cref="PrefixBlockStore"/>), kept in step, and what changed after each change (for routers).
/// Used on the worker thread only.
/// </summary>
internal sealed class PrefixCache : IDisposable
{
    private readonly PrefixBlockIndex index;
    private readonly PrefixBlockStore store;
    private readonly Action<IReadOnlyList<DbrxKvCacheEvent>> changed;

    private PrefixCache(PrefixBlockIndex index, PrefixBlockStore store, Action<IReadOnlyList<DbrxKvCacheEvent>> changed)
    {
        this.index = index;
        this.store = store;
        this.changed = changed;
    }

    /// <summary>
    /// The cache the options ask for, for <paramref name="model"/>, telling <paramref name="changed"/> the blocks it
    /// gains and loses after each change; null when the options turn it off.
    /// </summary>
    public static PrefixCache? Create(DbrxForCausalLM model, DbrxGeneratorOptions options, Action<IReadOnlyList<DbrxKvCacheEvent>> changed)
    {
        if (!options.ReusePromptPrefixes || options.PrefixCacheBytes == 0)
            return null;
        long blockBytes = PrefixBlockStore.BlockBytes(model.Config, model.DType, options.PrefixBlockTokens);
        int Slots(long bytes) => (int)Math.Min(int.MaxValue, bytes / blockBytes);
        if (Slots(options.PrefixCacheBytes) == 0)
            return null;
        return new PrefixCache(
            new PrefixBlockIndex(options.PrefixBlockTokens, Slots(options.PrefixCacheBytes), Slots(options.HostPrefixCacheBytes)),
            new PrefixBlockStore(model.Config, model.DType, model.Placement.Blocks, options.PrefixBlockTokens),
            changed);
    }

    public int BlockTokens => index.BlockTokens;

    public int DeviceBlocks => index.DeviceBlocks;

    public int DeviceSlots => index.DeviceSlots;

    public int HostBlocks => index.HostBlocks;

    public int HostSlots => index.HostSlots;

    /// <summary>Tokens of <paramref name="prompt"/> the cache could give, short of its last token (which must run).</summary>
    public int PrefixLength(IReadOnlyList<int> prompt) => index.PrefixLength(prompt, prompt.Count - 1);

    /// <summary>The cached blocks that start <paramref name="prompt"/>, short of its last token; marks them used.</summary>
    public IReadOnlyList<PrefixBlockLocation> Lookup(IReadOnlyList<int> prompt) => index.Lookup(prompt, prompt.Count - 1);

    /// <summary>Copies <paramref name="blocks"/> into the first positions of <paramref name="row"/>.</summary>
    public void Load(IReadOnlyList<PrefixBlockLocation> blocks, DbrxKvCache cache, int row) => store.Load(blocks, cache, row);

    /// <summary>
    /// Keeps the whole blocks of a sequence whose first <paramref name="length"/> tokens are in <paramref name="row"/>.
    /// A failure part-way leaves the slots unknown: the cache then starts empty, and the error goes on.
    /// </summary>
    public void Store(IReadOnlyList<int> tokens, long length, DbrxKvCache cache, int row)
    {
        try
        {
            store.Apply(index.Store(tokens, length), cache, row);
        }
        catch
        {
            index.Clear();
            throw;
        }
        finally
        {
            Publish();
        }
    }

    /// <summary>Forgets every block (the tensors stay allocated for reuse).</summary>
    public void Clear()
    {
        index.Clear();
        Publish();
    }

    private void Publish()
    {
        IReadOnlyList<DbrxKvCacheEvent> events = index.Events.Take();
        if (events.Count > 0)
            changed(events);
    }

    public void Dispose() => store.Dispose();
}
