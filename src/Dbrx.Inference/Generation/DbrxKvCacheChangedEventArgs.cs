namespace Dbrx.Inference.Generation;

/// <summary>The prefix cache's changes of one step of the generator, in order (<see cref="IDbrxEngine.KvCacheChanged"/>).</summary>
/// <param name="events">The changes.</param>
public sealed class DbrxKvCacheChangedEventArgs(IReadOnlyList<DbrxKvCacheEvent> events) : EventArgs
{
    /// <summary>The changes, in the order they happened.</summary>
    public IReadOnlyList<DbrxKvCacheEvent> Events { get; } = events;

    /// <summary>When they were made.</summary>
    public DateTimeOffset Timestamp { get; } = DateTimeOffset.UtcNow;
}
