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
        if (ContextLength is { } length && (length < 2 || length > maxSeqLen))
            throw new ArgumentException($"ContextLength must be between 2 and the model's max_seq_len ({maxSeqLen}), not {length}.");
    }
}
