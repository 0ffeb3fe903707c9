using Dbrx.Inference.Generation;

namespace Dbrx.Gateway;

/// <summary>What receives a replica's KV-cache events: the subscriber feeds it, tests feed it directly.</summary>
internal interface IKvEventSink
{
    /// <summary>Applies <paramref name="events"/>, published by <paramref name="replica"/> in this order.</summary>
    void Apply(string replica, IReadOnlyList<DbrxKvCacheEvent> events);
}
