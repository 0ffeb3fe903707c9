namespace Dbrx.Inference.Generation;

/// <summary>
/// A change to the blocks the generator's prefix cache holds, for routers that track which replica holds which prefix
/// (llm-d's precise prefix-cache scorer reads the same three kinds from vLLM). A block is identified by its chained
/// hash (<see cref="DbrxPrefixBlockHash"/>), so it stands for its whole prefix.
/// </summary>
public abstract class DbrxKvCacheEvent
{
    private DbrxKvCacheEvent()
    {
    }

    /// <summary>Blocks now held on <see cref="Medium"/>, each the child of the one before it.</summary>
    /// <param name="blockHashes">The blocks, in prefix order.</param>
    /// <param name="parentBlockHash">The block the first one follows; null for a sequence's first block.</param>
    /// <param name="tokenIds">The blocks' tokens, <paramref name="blockSize"/> per block, in order.</param>
    /// <param name="blockSize">Tokens per block.</param>
    /// <param name="medium">Where they are held.</param>
    public sealed class BlockStored(IReadOnlyList<ulong> blockHashes, ulong? parentBlockHash, IReadOnlyList<int> tokenIds, int blockSize, DbrxKvCacheMedium medium) : DbrxKvCacheEvent
    {
        /// <summary>The blocks, in prefix order.</summary>
        public IReadOnlyList<ulong> BlockHashes { get; } = blockHashes;

        /// <summary>The block the first one follows; null for a sequence's first block.</summary>
        public ulong? ParentBlockHash { get; } = parentBlockHash;

        /// <summary>The blocks' tokens, <see cref="BlockSize"/> per block, in order.</summary>
        public IReadOnlyList<int> TokenIds { get; } = tokenIds;

        /// <summary>Tokens per block.</summary>
        public int BlockSize { get; } = blockSize;

        /// <summary>Where they are held.</summary>
        public DbrxKvCacheMedium Medium { get; } = medium;
    }

    /// <summary>Blocks no longer held on <see cref="Medium"/>: dropped, or moved to the other medium (which its own <see cref="BlockStored"/> says).</summary>
    /// <param name="blockHashes">The blocks.</param>
    /// <param name="medium">Where they were held.</param>
    public sealed class BlockRemoved(IReadOnlyList<ulong> blockHashes, DbrxKvCacheMedium medium) : DbrxKvCacheEvent
    {
        /// <summary>The blocks.</summary>
        public IReadOnlyList<ulong> BlockHashes { get; } = blockHashes;

        /// <summary>Where they were held.</summary>
        public DbrxKvCacheMedium Medium { get; } = medium;
    }

    /// <summary>Every block was forgotten (after a failure left the cache's contents unknown).</summary>
    public sealed class AllBlocksCleared : DbrxKvCacheEvent;
}
