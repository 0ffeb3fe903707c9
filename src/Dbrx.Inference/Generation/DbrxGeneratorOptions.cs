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
}
