namespace Dbrx.Server;

/// <summary>A stored response: its JSON as served, and the input items (a JSON array) of the conversation it answered.</summary>
internal sealed record StoredResponse(string Id, string Json, string InputItems)
{
    /// <summary>What it counts against <see cref="DbrxResponseStoreOptions.MaxStoredBytes"/>: its text as UTF-16.</summary>
    public long Bytes => 2L * (Id.Length + Json.Length + InputItems.Length);
}

/// <summary>
/// Where stored responses live, bounded by <see cref="DbrxResponseStoreOptions"/>: past its count or bytes the least
/// recently saved or read go first. A response larger than the whole byte bound is not kept.
/// </summary>
internal interface IResponseStore
{
    Task SaveAsync(StoredResponse response, CancellationToken cancellationToken);

    /// <summary>The response with <paramref name="id"/> (now the most recently used), or null.</summary>
    Task<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Removes it; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);
}
