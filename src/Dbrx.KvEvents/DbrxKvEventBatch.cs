using Dbrx.Inference.Generation;

namespace Dbrx.KvEvents;

/// <summary>One message of KV events: the changes of one engine step, when they were made, and the engine's data-parallel rank.</summary>
/// <param name="timestamp">When the changes were made.</param>
/// <param name="events">The changes, in order.</param>
/// <param name="dataParallelRank">The engine's data-parallel rank (0 for a replica of its own).</param>
public sealed class DbrxKvEventBatch(DateTimeOffset timestamp, IReadOnlyList<DbrxKvCacheEvent> events, int dataParallelRank = 0)
{
    /// <summary>When the changes were made.</summary>
    public DateTimeOffset Timestamp { get; } = timestamp;

    /// <summary>The changes, in order.</summary>
    public IReadOnlyList<DbrxKvCacheEvent> Events { get; } = events;

    /// <summary>The engine's data-parallel rank (0 for a replica of its own).</summary>
    public int DataParallelRank { get; } = dataParallelRank;
}
