namespace Dbrx.Inference.Generation;

/// <summary>What an engine is doing at one moment, for monitoring (a server's gauges, a readiness probe).</summary>
/// <param name="WaitingRequests">Requests waiting for a batch row.</param>
/// <param name="RunningRequests">Batch rows in use by requests, the prompt being prefilled included.</param>
/// <param name="BatchRows">Batch rows in all (<see cref="DbrxGeneratorOptions.MaxBatchSize"/>).</param>
/// <param name="KvCacheUsage">The share of the KV cache's positions that running requests hold, 0 to 1.</param>
public readonly record struct DbrxEngineStatistics(int WaitingRequests, int RunningRequests, int BatchRows, double KvCacheUsage)
{
    /// <summary>Prompt tokens looked up in the cache (kept rows and the prefix cache's blocks) since the start.</summary>
    public long PrefixCacheQueries { get; init; }

    /// <summary>Of <see cref="PrefixCacheQueries"/>, the tokens found there and not computed again.</summary>
    public long PrefixCacheHits { get; init; }

    /// <summary>Blocks the prefix cache holds on the model's devices.</summary>
    public int PrefixCacheBlocks { get; init; }

    /// <summary>Blocks the prefix cache's device tier can hold (<see cref="DbrxGeneratorOptions.PrefixCacheBytes"/>).</summary>
    public int PrefixCacheCapacity { get; init; }

    /// <summary>Blocks the prefix cache holds in host memory.</summary>
    public int HostPrefixCacheBlocks { get; init; }

    /// <summary>Tokens per prefix-cache block (<see cref="DbrxGeneratorOptions.PrefixBlockTokens"/>).</summary>
    public int PrefixBlockTokens { get; init; }
}
