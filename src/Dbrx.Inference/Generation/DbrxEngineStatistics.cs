namespace Dbrx.Inference.Generation;

/// <summary>What an engine is doing at one moment, for monitoring (a server's gauges, a readiness probe).</summary>
/// <param name="WaitingRequests">Requests waiting for a batch row.</param>
/// <param name="RunningRequests">Batch rows in use by requests, the prompt being prefilled included.</param>
/// <param name="BatchRows">Batch rows in all (<see cref="DbrxGeneratorOptions.MaxBatchSize"/>).</param>
/// <param name="KvCacheUsage">The share of the KV cache's positions that running requests hold, 0 to 1.</param>
public readonly record struct DbrxEngineStatistics(int WaitingRequests, int RunningRequests, int BatchRows, double KvCacheUsage);
