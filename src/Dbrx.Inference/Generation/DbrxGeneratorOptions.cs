namespace Dbrx.Inference.Generation;

/// <summary>How a <see cref="DbrxGenerator"/> serves requests.</summary>
public sealed record DbrxGeneratorOptions
{
    /// <summary>Sequences decoded together in one forward pass; their KV cache is allocated up front.</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>Requests that may wait for a batch slot; beyond it a request fails at once with <see cref="DbrxBusyException"/>.</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>
    /// Tokens per sequence, prompt and output together (the KV cache's capacity per row). Null means the model's
    /// <c>max_seq_len</c>, capped at 4096 to keep the cache small; set it higher for long prompts.
    /// </summary>
    public int? ContextLength { get; init; }

    /// <summary>
    /// Prompt tokens prefilled per step of the worker. A longer prompt is prefilled in chunks of this size with a decode
    /// step for the running sequences after each, so they pause for one chunk at a time rather than for a whole long
    /// prompt; several short prompts share one step's budget.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 512;

    /// <summary>
    /// Keep each finished sequence's keys and values in its cache row while the row is free, and start a new prompt
    /// that begins with the same tokens from there, prefilling only the rest: the next turn of a chat, or an agent's
    /// requests that repeat one system prompt and tool list. The reused count is reported as
    /// <see cref="GenerationUsage.CachedPromptTokens"/>. Costs no memory (the rows exist anyway); a kept row is
    /// overwritten when a request needs it. Turn it off when one generator serves parties who must not learn, from how
    /// fast a first token comes, whether another party recently sent the same opening tokens.
    /// </summary>
    public bool ReusePromptPrefixes { get; init; } = true;

    /// <summary>
    /// Tokens per block of the prefix cache (with <see cref="ReusePromptPrefixes"/>): every finished sequence's keys and
    /// values are kept, block by block, beyond the batch rows, and a new prompt starts from the longest run of whole
    /// blocks it shares with anything seen (or from a kept row, if that holds more). Smaller blocks reuse more of a
    /// partly shared prompt; larger ones cost fewer copies.
    /// </summary>
    public int PrefixBlockTokens { get; init; } = 32;

    /// <summary>
    /// Memory for the prefix cache's blocks on the model's devices (each layer's on its device), allocated as blocks are
    /// stored; least recently used blocks make room. 0 turns the block cache off (kept rows still work). Default 1 GiB.
    /// </summary>
    public long PrefixCacheBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Memory in the host for blocks displaced from <see cref="PrefixCacheBytes"/> (pinned when the model is on CUDA),
    /// copied back into a row over PCIe when a prompt needs them instead of being computed again. Default 0 (none).
    /// </summary>
    public long HostPrefixCacheBytes { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option a model of <paramref name="maxSeqLen"/> tokens cannot serve with.</summary>
    /// <remarks>The one place these are checked: the generator, the chat client's options and the tool all call it.</remarks>
    public void Validate(int maxSeqLen)
    {
        if (MaxBatchSize < 1)
            throw new ArgumentException($"MaxBatchSize must be at least 1, not {MaxBatchSize}.");
        if (MaxQueuedRequests < 0)
            throw new ArgumentException($"MaxQueuedRequests must be ≥ 0, not {MaxQueuedRequests}.");
        if (PrefillChunkTokens < 1)
            throw new ArgumentException($"PrefillChunkTokens must be at least 1, not {PrefillChunkTokens}.");
        if (PrefixBlockTokens is < 1 or > 4096)
            throw new ArgumentException($"PrefixBlockTokens must be between 1 and 4096, not {PrefixBlockTokens}.");
        if (PrefixCacheBytes < 0)
            throw new ArgumentException($"PrefixCacheBytes must be ≥ 0, not {PrefixCacheBytes}.");
        if (HostPrefixCacheBytes < 0)
            throw new ArgumentException($"HostPrefixCacheBytes must be ≥ 0, not {HostPrefixCacheBytes}.");
        if (ContextLength is { } length && (length < 2 || length > maxSeqLen))
            throw new ArgumentException($"ContextLength must be between 2 and the model's max_seq_len ({maxSeqLen}), not {length}.");
    }
}
