namespace Dbrx.Gateway;

/// <summary>A change to the blocks a replica holds, as llm-d's KV-cache events describe it.</summary>
internal abstract record KvEvent;

/// <summary>Blocks stored on <paramref name="Medium"/> (<c>GPU</c>, <c>CPU</c>, or null when the publisher does not say).</summary>
internal sealed record BlockStored(IReadOnlyList<ulong> BlockHashes, string? Medium) : KvEvent;

/// <summary>Blocks dropped from <paramref name="Medium"/> (null: from every medium).</summary>
internal sealed record BlockRemoved(IReadOnlyList<ulong> BlockHashes, string? Medium) : KvEvent;

/// <summary>Every block of the replica dropped.</summary>
internal sealed record AllBlocksCleared : KvEvent;

/// <summary>What receives a replica's KV-cache events: the subscriber feeds it, tests feed it directly.</summary>
internal interface IKvEventSink
{
    /// <summary>Applies <paramref name="events"/>, published by <paramref name="replica"/> in this order.</summary>
    void Apply(string replica, IReadOnlyList<KvEvent> events);
}
