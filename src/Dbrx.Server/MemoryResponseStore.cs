namespace Dbrx.Server;

/// <summary>Stored responses in memory, least recently used first out; a restart forgets them.</summary>
internal sealed class MemoryResponseStore(DbrxResponseStoreOptions options) : IResponseStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<StoredResponse>> byId = new(StringComparer.Ordinal);
    private readonly LinkedList<StoredResponse> byUse = new();
    private long bytes;

    public Task SaveAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        if (response.Bytes > options.MaxStoredBytes)
            return Task.CompletedTask;
        lock (gate)
        {
            Remove(response.Id);
            byId[response.Id] = byUse.AddFirst(response);
            bytes += response.Bytes;
            while (byId.Count > options.MaxStoredResponses || bytes > options.MaxStoredBytes)
                Remove(byUse.Last!.Value.Id);
        }
        return Task.CompletedTask;
    }

    public Task<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (!byId.TryGetValue(id, out LinkedListNode<StoredResponse>? node))
                return Task.FromResult<StoredResponse?>(null);
            byUse.Remove(node);
            byUse.AddFirst(node);
            return Task.FromResult<StoredResponse?>(node.Value);
        }
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        lock (gate)
            return Task.FromResult(Remove(id));
    }

    private bool Remove(string id)
    {
        if (!byId.Remove(id, out LinkedListNode<StoredResponse>? node))
            return false;
        byUse.Remove(node);
        bytes -= node.Value.Bytes;
        return true;
    }
}
