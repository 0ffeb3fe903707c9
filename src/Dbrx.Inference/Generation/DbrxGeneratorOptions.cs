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
}
